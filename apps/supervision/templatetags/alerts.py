"""The supervision dashboard's link to the alerts: how many are open in the region."""

from django import template

from apps.regions.models import user_memberships

from ..models import ALERT_ROLES, Alert

register = template.Library()


@register.simple_tag
def open_alerts(user, region):
    """Open alerts in the region's subtree that the user sees; None for those who see no
    alerts (village staff), so the dashboard shows them no link."""
    if not user.is_superuser and not any(
        role in ALERT_ROLES for _p, role in user_memberships(user)
    ):
        return None
    return (
        Alert.objects.visible_to(user).open().filter(region_code__startswith=region.prefix).count()
    )
