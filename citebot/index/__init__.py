"""Everything about articles → chunks → vectors → search. Knows nothing of Telegram or terminals."""
