"""Is citebot fit to answer? `citebot doctor` asks every part once and says ok / FAIL / skipped
for each, one line apiece, so a monitor (systemd, a container's HEALTHCHECK, a cron mail) needs
one command and its exit code.

    probe.py         the Check record (ok / FAIL / skipped, one line) and what checks share
    checks.py        the order checks run in; settings and optional parts
    index_checks.py  the index: present (or the Qdrant server reachable), its files, its refreshes
    model_checks.py  the question encoder and the reader load
    bot_checks.py    the bot's token (shape only), and its status file
    status_file.py   the status file the running bot writes and the doctor reads
"""
