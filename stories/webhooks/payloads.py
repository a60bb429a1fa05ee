"""The JSON body of a webhook request: the event, its time, the delivery id and the story in
the API's representation (``stories.api.ninjs.story_ninjs``)."""

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

# What story.unpublished says of a story: which one, not what it says now (a story taken
# down may already hold a rewrite no partner should see).
WITHDRAWN_FIELDS = ("uri", "standard", "type", "version", "firstcreated", "versioncreated")


def withdrawn_story(representation):
    """The identifying part of a story's API representation, marked withdrawn."""
    kept = {key: representation[key] for key in WITHDRAWN_FIELDS if key in representation}
    return {**kept, "pubstatus": "canceled"}


def gone_story(state):
    """What is left to say about a story that was deleted: its uri and that it is gone."""
    return {"uri": state.uri, "pubstatus": "canceled"}


def body(event, delivery_id, story_representation, time=None):
    """The request body, as the bytes that are signed and sent (and stored for retries)."""
    payload = {
        "event": event,
        "time": (time or timezone.now()).isoformat(),
        "delivery_id": str(delivery_id),
        "story": story_representation,
    }
    return json.dumps(payload, cls=DjangoJSONEncoder, ensure_ascii=False)
