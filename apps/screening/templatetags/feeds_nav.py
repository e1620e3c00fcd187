"""The navigation link to the department data pages, for department members only."""

from django import template

from ..models import DepartmentMember

register = template.Library()


@register.filter
def delivers_data(user) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    cached = getattr(user, "_delivers_data", None)
    if cached is None:
        cached = user.is_superuser or DepartmentMember.objects.filter(user=user).exists()
        user._delivers_data = cached
    return cached
