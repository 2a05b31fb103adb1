"""Text as citebot reads it: cleaning scraped pages, sentences, chunks, search terms, dates."""
