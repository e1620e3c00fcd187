"""Bench data: one grid worker with a mobile number in the target village, so every
declaration queues its SMS as in real use. Prints the village's public slug.

    DJANGO_SETTINGS_MODULE=bench.settings python -m bench.seed 621102100201

(bench/common.py `prepare_site` runs it for the surge and the page benchmarks.)
"""

import sys

import django


def main(village_code: str) -> None:
    django.setup()
    from apps.accounts.models import User
    from apps.regions.models import Region, Role, StaffMembership

    village = Region.objects.get(code=village_code)
    user, _ = User.objects.get_or_create(username=f"bench-grid-{village_code}")
    user.set_mobile("13900000001")
    user.save()
    StaffMembership.objects.get_or_create(user=user, region=village, role=Role.GRID)
    print(village.public_slug)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "621102100201")
