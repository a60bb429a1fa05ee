"""``dumpdata``/``loaddata`` JSON that keeps times to the microsecond (settings:
SERIALIZATION_MODULES).

Django's JSON encoder cuts times to milliseconds (for ECMA-262). A backup must not change
the data it saves: feeds print times to the microsecond, and the importer's checksums
include publication times, so a restored site would otherwise differ from the one backed
up, and a re-import would take every imported story for an edited one.

It also writes the id, not the natural key, of a row a revision names that no longer
exists, where Django's serializer would stop the whole backup.
"""

import datetime

from django.core.exceptions import ObjectDoesNotExist
from django.core.serializers import json as django_json
from django.core.serializers.json import DjangoJSONEncoder


class LosslessJSONEncoder(DjangoJSONEncoder):
    def default(self, o):
        if isinstance(o, datetime.datetime):
            text = o.isoformat()
            return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text
        if isinstance(o, datetime.time):
            return o.isoformat()
        return super().default(o)


class Serializer(django_json.Serializer):
    def _init_options(self):
        super()._init_options()
        self.json_kwargs["cls"] = LosslessJSONEncoder

    def handle_fk_field(self, obj, field):
        try:
            super().handle_fk_field(obj, field)
        except ObjectDoesNotExist:
            # A story revision may name a section or user deleted since (history keeps no
            # foreign key constraint), which has no natural key left to write: keep the id.
            self._current[field.name] = field.value_from_object(obj)


Deserializer = django_json.Deserializer
