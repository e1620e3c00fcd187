"""The bare view the real form is measured against: a Django Form with four fields,
simple checks, one INSERT. Same middleware stack (sessions, CSRF, ...) as the real one."""

import re

from django import forms
from django.http import HttpResponse

from .models import BaselineSubmission

PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
ID_RE = re.compile(r"^\d{17}[\dX]$")


class BaselineForm(forms.Form):
    name = forms.CharField(max_length=30)
    phone = forms.RegexField(regex=PHONE_RE, max_length=20)
    id_number = forms.RegexField(regex=ID_RE, max_length=24)
    address = forms.CharField(max_length=60)


def baseline_submit(request):
    if request.method != "POST":
        return HttpResponse("POST name, phone, id_number, address\n", content_type="text/plain")
    form = BaselineForm(request.POST)
    if not form.is_valid():
        return HttpResponse(form.errors.as_text(), status=400, content_type="text/plain")
    BaselineSubmission.objects.create(**form.cleaned_data)
    return HttpResponse("created\n", status=201, content_type="text/plain")
