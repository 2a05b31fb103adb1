"""citebot: answers questions from an archive of news articles with cited, verbatim extracts.

Two layers, one import namespace: `citebot.index` builds and reads the archive and answers
(sources -> clean -> chunk -> embed -> store -> candidates -> fuse -> score -> read -> compose);
`citebot.bot` holds the front ends that only render its answers (the CLI and the Telegram bot).
`citebot.index` never imports `citebot.bot`.
"""
