from django.db import models


class BaselineSubmission(models.Model):
    """The bare comparison: four plain columns, one INSERT per request."""

    name = models.CharField(max_length=30)
    phone = models.CharField(max_length=20)
    id_number = models.CharField(max_length=24)
    address = models.CharField(max_length=60)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "bench_baseline_submission"

    def __str__(self):
        return f"{self.name} {self.created_at:%Y-%m-%d %H:%M:%S}"
