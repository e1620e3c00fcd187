import re
import secrets

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from apps.core.forms import wrap_validator as _wrap
from apps.core.identity import fold, refuse_foreign_digits, validate_id_number, validate_mobile

from .models import NOTICE_VERSION, STAFF_CHANNELS, Channel, Difficulty, PhoneOwner
from .services import DeclarationInput

# Chinese names, and names of minorities written with a middle dot; Latin letters for
# the rare name written in pinyin.
NAME_RE = re.compile(
    r"^[\u3400-\u9fff\uf900-\ufaffA-Za-z][\u3400-\u9fff\uf900-\ufaffA-Za-z·• ]{0,28}[\u3400-\u9fff\uf900-\ufaffA-Za-z]$"
)
TOKEN_RE = re.compile(r"^[0-9a-f]{32}$")
# Control characters other than newline and tab have no place in a description.
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def _plain(value: str) -> str:
    return CONTROL_RE.sub("", value)


def _name(value: str) -> str:
    value = _plain(value).strip().replace("•", "·")
    if not NAME_RE.match(value):
        raise ValidationError(_("Enter a real name of 2 to 30 characters."), code="invalid_name")
    return value


def normalise_tracking_number(value: str) -> str:
    """As the status form reads a tracking number (the rate limits count this too)."""
    return fold(value)


def _required(message):
    """A field's own message when it is left empty ("请填写姓名"), not a generic one."""
    return {"required": message}


class DeclarationForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=30,
        error_messages=_required(_("Please enter the name.")),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    phone = forms.CharField(
        label=_("Contact mobile phone"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
        error_messages=_required(_("Please enter a mobile phone number.")),
        help_text=_("No mobile phone? Enter a relative's or the village's number below."),
    )
    phone_owner = forms.ChoiceField(
        label=_("Whose phone is this?"),
        choices=PhoneOwner.choices,
        initial=PhoneOwner.OWN,
        widget=forms.RadioSelect,
        required=False,  # preselected; left out, it is the applicant's own
    )
    phone_owner_relation = forms.CharField(
        label=_("The phone owner's relation to the applicant"),
        max_length=20,
        required=False,
        help_text=_("For example: son, sister, grid worker"),
    )
    id_number = forms.CharField(
        label=_("ID number"),
        max_length=24,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
        error_messages=_required(_("Please enter the ID number.")),
        help_text=_("The 18 characters on the second-generation ID card."),
    )
    address_group = forms.CharField(
        label=_("Village group"),
        max_length=30,
        help_text=_("For example: 3组 or 王家社"),
        error_messages=_required(_("Please enter the village group.")),
    )
    address_house = forms.CharField(label=_("House number"), max_length=30, required=False)
    difficulties = forms.MultipleChoiceField(
        label=_("Kind of difficulty"),
        choices=Difficulty.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one kind of difficulty.")},
    )
    description = forms.CharField(
        label=_("Briefly describe your difficulty"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    on_behalf = forms.BooleanField(
        label=_("I am declaring on behalf of someone else"), required=False
    )
    declarant_name = forms.CharField(label=_("Your name"), max_length=30, required=False)
    declarant_phone = forms.CharField(
        label=_("Your mobile phone"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel"}),
    )
    declarant_relation = forms.CharField(
        label=_("Your relation to the applicant"),
        max_length=20,
        required=False,
        help_text=_("For example: son, neighbour, village doctor"),
    )
    # Required: a declaration is stored with this consent (services.consent).
    consent = forms.BooleanField(
        label=_("I have read the notice on personal information and agree"),
        error_messages={"required": _("Please confirm that you have read the notice.")},
    )
    token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)
    # The version of the notice on the page, shown with it and stored with the consent.
    notice_version = NOTICE_VERSION

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["token"] = secrets.token_hex(16)

    def clean_name(self):
        return _name(self.cleaned_data["name"])

    def clean_phone(self):
        return _wrap(validate_mobile, self.cleaned_data["phone"])

    def clean_id_number(self):
        return _wrap(validate_id_number, self.cleaned_data["id_number"])

    def clean_address_group(self):
        return _plain(self.cleaned_data["address_group"]).strip()

    def clean_address_house(self):
        return _plain(self.cleaned_data["address_house"]).strip()

    def clean_description(self):
        return _plain(self.cleaned_data["description"]).strip()

    def clean_declarant_relation(self):
        return _plain(self.cleaned_data["declarant_relation"]).strip()

    def clean_phone_owner(self):
        return self.cleaned_data["phone_owner"] or PhoneOwner.OWN

    def clean_phone_owner_relation(self):
        return _plain(self.cleaned_data["phone_owner_relation"]).strip()

    def clean_token(self):
        token = self.cleaned_data.get("token", "")
        # A missing or mangled token only costs the double-tap protection.
        return token if TOKEN_RE.match(token) else None

    def clean(self):
        data = super().clean()
        if data.get("on_behalf"):
            required = _("Required when declaring on someone's behalf.")
            for field in ("declarant_name", "declarant_phone", "declarant_relation"):
                if not data.get(field) and field not in self.errors:
                    self.add_error(field, required)
            if data.get("declarant_name") and "declarant_name" not in self.errors:
                try:
                    data["declarant_name"] = _name(data["declarant_name"])
                except ValidationError as exc:
                    self.add_error("declarant_name", exc)
            if data.get("declarant_phone") and "declarant_phone" not in self.errors:
                try:
                    data["declarant_phone"] = validate_mobile(data["declarant_phone"])
                except ValidationError as exc:
                    self.add_error("declarant_phone", exc)
        else:
            data["declarant_name"] = data["declarant_phone"] = data["declarant_relation"] = ""
        owner = data.get("phone_owner")
        if owner == PhoneOwner.RELATIVE:
            if not data.get("phone_owner_relation") and "phone_owner_relation" not in self.errors:
                self.add_error(
                    "phone_owner_relation",
                    _("Please say how the phone's owner is related to the applicant."),
                )
        elif owner != PhoneOwner.VILLAGE:
            data["phone_owner_relation"] = ""
        return data

    def to_input(self) -> DeclarationInput:
        d = self.cleaned_data
        return DeclarationInput(
            name=d["name"],
            phone=d["phone"],
            id_number=d["id_number"],
            address_group=d["address_group"],
            address_house=d["address_house"],
            difficulties=d["difficulties"],
            description=d["description"],
            on_behalf=d["on_behalf"],
            declarant_name=d["declarant_name"],
            declarant_phone=d["declarant_phone"],
            declarant_relation=d["declarant_relation"],
            phone_owner=d["phone_owner"],
            phone_owner_relation=d["phone_owner_relation"],
        )


class StaffDeclarationForm(DeclarationForm):
    """A new declaration a staff member enters (cadre visit, 12317 hotline, paper): the
    public form's fields and checks, with the channel and the village instead of the
    consent box — the household consents by signing the authorization letter."""

    channel = forms.ChoiceField(
        label=_("Channel"),
        choices=[(c.value, c.label) for c in Channel if c in STAFF_CHANNELS],
    )
    village = forms.ModelChoiceField(label=_("Village"), queryset=None, empty_label=None)
    consent = None
    field_order = ["channel", "village"]

    def __init__(self, *args, villages, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["village"].queryset = villages
        if len(villages) > 1:  # the clerk chooses; a grid worker's one village is given
            self.fields["village"].empty_label = "—"
        self.fields["on_behalf"].label = _("Someone else declared on the applicant's behalf")
        self.fields["declarant_name"].label = _("Declarant's name")
        self.fields["declarant_phone"].label = _("Declarant's mobile phone")
        self.fields["declarant_relation"].label = _("Declarant's relation to the applicant")
        self.fields["description"].label = _("The difficulty, as described")


class StatusForm(forms.Form):
    tracking_number = forms.CharField(
        label=_("Tracking number"),
        max_length=30,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
        error_messages=_required(_("Please enter the tracking number.")),
    )
    phone = forms.CharField(
        label=_("Mobile phone used when declaring"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel"}),
        error_messages=_required(_("Please enter a mobile phone number.")),
    )

    def clean_tracking_number(self):
        number = normalise_tracking_number(self.cleaned_data["tracking_number"])
        _wrap(refuse_foreign_digits, number)
        if not re.fullmatch(r"[0-9]{12}", number):
            raise forms.ValidationError(
                _("A tracking number has 12 digits."), code="invalid_tracking"
            )
        return number

    def clean_phone(self):
        return _wrap(validate_mobile, self.cleaned_data["phone"])


class PublicReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Why?"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Please say why.")},
    )

    def clean_reason(self):
        return _plain(self.cleaned_data["reason"]).strip()


class ActionForm(PublicReasonForm):
    """Withdraw or appeal from the status page: a reason and the code sent by SMS."""

    code = forms.CharField(
        label=_("Code from the SMS"),
        max_length=12,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": 6}
        ),
        error_messages={"required": _("Enter the 6-digit code sent to you by SMS.")},
    )

    def clean_code(self):
        code = fold(self.cleaned_data["code"])
        _wrap(refuse_foreign_digits, code)
        if not re.fullmatch(r"[0-9]{6}", code):
            raise forms.ValidationError(
                _("Enter the 6-digit code sent to you by SMS."), code="invalid_code"
            )
        return code


class RecoverForm(forms.Form):
    """A lost tracking number: the ID number and the phone given when declaring. The
    number goes by SMS to that phone only; the page never shows it."""

    id_number = forms.CharField(
        label=_("ID number"),
        max_length=24,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
        error_messages=_required(_("Please enter the ID number.")),
    )
    phone = forms.CharField(
        label=_("Mobile phone used when declaring"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
        error_messages=_required(_("Please enter a mobile phone number.")),
    )

    def clean_id_number(self):
        return _wrap(validate_id_number, self.cleaned_data["id_number"])

    def clean_phone(self):
        return _wrap(validate_mobile, self.cleaned_data["phone"])
