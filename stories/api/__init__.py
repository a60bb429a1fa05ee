"""The read API (/api/v1/): stories, sections, tags and bylines as JSON for partners' software.

``ninjs.story_ninjs`` is the one representation of a story; the webhooks send it too.
"""
