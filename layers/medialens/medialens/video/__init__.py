"""Video analysis: jobs started, results collected, the backlog swept."""
