"""Webhooks: story events sent, signed, to partners' systems by a background worker.

``events`` works out what happened to stories since the worker last looked, whatever wrote
them; ``sending`` delivers each event to the subscribers that asked for it, in order per
story, with retries; ``tasks`` is the django-tasks glue the worker runs; ``addresses``
keeps requests away from private networks; ``signing`` signs each request.
"""
