from citebot.bot.followup import contextualize


def test_short_follow_ups_lean_on_the_previous_question():
    prev = "Which Russian region are Ukrainian troops targeting?"
    assert contextualize("and Belgorod?", prev) == (f"{prev} and Belgorod?", "and Belgorod?")
    assert contextualize("who said that?", prev) == (f"{prev} who said that?", "who said that?")


def test_standalone_questions_stay_as_they_are():
    prev = "Which Russian region are Ukrainian troops targeting?"
    assert contextualize("What is the population of Belgorod?", prev) == ("What is the population of Belgorod?", None)
    assert contextualize("and Belgorod?", None) == ("and Belgorod?", None)
    long_q = "and what did the governor of the region say about the situation on the border"
    assert contextualize(long_q, prev) == (long_q, None)
