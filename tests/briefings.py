"""Briefings the importer's tests share."""

# Three stories: a signoff with "By", one with two names, and one with none, in three
# countries' news (the place tagger's).
THREE_STORIES = """Ferry to Peru reopens
Boats sailed to Peru again on Monday, officials said.
— By Ana Lima

Council votes on budget in Chile and Peru
The vote was close in Chile, members said, and in Peru.
— Jo Park and Ana Lima

Harbour works begin
Cranes arrived in Lima, then in Chile, then in Japan.
"""
