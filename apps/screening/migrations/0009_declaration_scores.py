"""Fill the risk score of every existing declaration: its own factors (kinds, the
household's members from its latest home visit or else the roster, the visit's figures)
and those of the warnings merged into or converted into it. Here, not in declarations'
migrations, because only screening sees both; a batch of rows at a time, a handful of
queries each, so a big table is never loaded whole."""

from django.db import migrations

BATCH = 2000


def fill(apps, schema_editor):
    from apps.declarations.scoring import case_score, visit_amounts
    from apps.households.scoring import MemberFacts

    Declaration = apps.get_model("declarations", "Declaration")
    HouseholdVisit = apps.get_model("declarations", "HouseholdVisit")
    VisitMember = apps.get_model("declarations", "VisitMember")
    RosterMember = apps.get_model("households", "RosterMember")
    HouseholdMember = apps.get_model("households", "HouseholdMember")
    Warning = apps.get_model("screening", "Warning")

    def facts(rows):
        out = {}
        for key, capacity, grade in rows:
            out.setdefault(key, []).append(MemberFacts(capacity, grade))
        return out

    last = 0
    while True:
        batch = list(
            Declaration.objects.filter(pk__gt=last)
            .order_by("pk")
            .only("pk", "difficulties", "roster_household_id", "household_id")[:BATCH]
        )
        if not batch:
            return
        last = batch[-1].pk
        ids = [d.pk for d in batch]
        roster = facts(
            RosterMember.objects.filter(
                household_id__in={d.roster_household_id for d in batch if d.roster_household_id}
            ).values_list("household_id", "labour_capacity", "disability_grade")
        )
        monitored = facts(
            HouseholdMember.objects.filter(
                left_on__isnull=True,
                household_id__in={d.household_id for d in batch if d.household_id},
            ).values_list("household_id", "labour_capacity", "disability_grade")
        )
        visits = {}
        for visit in HouseholdVisit.objects.filter(declaration_id__in=ids).order_by(
            "declaration_id", "visit_date", "pk"
        ).defer("findings"):
            visits[visit.declaration_id] = visit  # the latest wins
        visit_members = facts(
            VisitMember.objects.filter(visit_id__in=[v.pk for v in visits.values()]).values_list(
                "visit_id", "labour_capacity", "disability_grade"
            )
        )
        warnings = {}
        for declaration_id, factors in Warning.objects.filter(
            declaration_id__in=ids, state__in=["merged", "converted"]
        ).values_list("declaration_id", "score_factors"):
            warnings.setdefault(declaration_id, []).extend(factors)
        for d in batch:
            visit = visits.get(d.pk)
            if visit is not None:
                members = visit_members.get(visit.pk, [])
            elif d.roster_household_id:
                members = roster.get(d.roster_household_id, [])
            else:
                members = monitored.get(d.household_id, [])
            d.score, d.score_factors = case_score(
                list(d.difficulties) + (list(visit.risk_types) if visit else []),
                members,
                visit_amounts(visit) if visit else None,
                warnings.get(d.pk, []),
            )
        Declaration.objects.bulk_update(batch, ["score", "score_factors"])


class Migration(migrations.Migration):
    dependencies = [
        ("screening", "0008_shipped_definitions"),
        ("declarations", "0019_declaration_score"),
        ("households", "0009_reconciliation_records"),
    ]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop, elidable=True)]
