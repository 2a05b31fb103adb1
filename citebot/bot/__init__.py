"""Front ends (command line, Telegram) and settings; they render what index/ answers."""
