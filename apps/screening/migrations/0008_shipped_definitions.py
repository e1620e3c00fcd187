from django.db import migrations


def shipped_definitions(apps, schema_editor):
    """The department feeds shipped besides the first five (shipped.json): 人社, 卫健,
    住建, 水利 (warnings), 公安 (life events), 市场监管, 公安交管, 不动产登记 (property
    check). A definition changed in the admin since is loaded again only by
    `manage.py load_feed_definitions`."""
    from apps.screening.feeds.definitions import SHIPPED, definitions_load

    names = ("FeedDefinition", "FeedField", "FeedRule")
    definitions_load(SHIPPED, models=tuple(apps.get_model("screening", n) for n in names))


class Migration(migrations.Migration):
    dependencies = [("screening", "0007_effects")]

    operations = [migrations.RunPython(shipped_definitions, migrations.RunPython.noop)]
