import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

application = get_wsgi_application()

# Everything loaded so far (Django, the apps, their modules and settings) lives as long
# as the process. Frozen, it is out of the cyclic collector's sight, so a full
# collection no longer walks those ~130,000 objects: about 85 ms of CPU, once every
# couple of thousand requests, measured in-process (docs/benchmarks.md).
gc.freeze()
