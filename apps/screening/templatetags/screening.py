"""The screening panel of a declaration's page: the department warnings linked to the
case, the civil-affairs assistance its applicant receives, and where the case is routed.
A template tag, so that the declarations' page shows it without the declarations app
importing this one (imports flow screening → declarations)."""

from django import template

from ..selectors import declaration_panel

register = template.Library()


@register.inclusion_tag("screening/_declaration_panel.html")
def declaration_screening(declaration, user):
    return {"declaration": declaration, "panel": declaration_panel(declaration, user)}


@register.inclusion_tag("screening/_property_records.html")
def property_records(user, declaration=None, household=None):
    """The businesses, vehicles and real estate departments delivered for the case's
    applicant or household, or for a monitored household: for the property check."""
    from ..effects import property_records_of

    records = property_records_of(user=user, declaration=declaration, household=household)
    return {"records": list(records)}
