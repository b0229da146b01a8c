"""The Lex V2 chatbot's fulfilment: requests, dialog, answers, settings and wiring."""
