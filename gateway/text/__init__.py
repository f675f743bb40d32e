"""The words of our languages, below everything: the phrases and date formats per
language (speech), how a mail to a person begins (greeting), the details we ask for.
Imports nothing of the gateway."""
