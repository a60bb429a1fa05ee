"""The JSON body of a webhook request: the event, its time, the delivery id and the story in
the API's representation (``stories.api.ninjs.story_ninjs``)."""

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone


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
