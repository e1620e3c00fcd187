from django import template

register = template.Library()


@register.filter
def percent(value):
    """0.1234 → 12.3%; no data → —."""
    return "—" if value is None else f"{value * 100:.1f}%"


@register.filter
def labelled(values, labels):
    """Each value with its column's label, for the cells a phone shows without the
    table's header: (label, value) pairs."""
    return list(zip(labels, values, strict=False))


@register.filter
def days(value):
    return "—" if value is None else f"{value:.1f}"
