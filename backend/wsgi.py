import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.production")
application = get_wsgi_application()

# Before serving anything: keys that are not the database's own stop the server with a French
# message naming the variable (parcours/key_canary.py), rather than a 500 on every read or
# duplicates let through. Gunicorn's worker then fails to boot and gunicorn exits.
from parcours.key_canary import refuse_wrong_keys  # noqa: E402

refuse_wrong_keys()

# What start-up made (settings, URLconf, models, templates, compiled queries) lives as long as
# the worker: frozen out of the collector's generations, so the collections a request triggers
# walk what requests make, not ~175,000 start-up objects each time (docs/performance.md).
import gc  # noqa: E402

gc.collect()
gc.freeze()
