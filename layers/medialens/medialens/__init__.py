"""medialens: Amazon Rekognition behind S3 events, results in a searchable catalog."""
