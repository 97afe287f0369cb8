"""Forms the pages share. Pages validate with the API's serializers where one exists, so a
value the API refuses is refused by the page with the same message."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError

from apps.profiles.validators import validate_time_zone


class SignupForm(forms.Form):
    email = forms.EmailField(
        max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    password = forms.CharField(
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    timezone = forms.CharField(
        max_length=64,
        initial="UTC",
        validators=[validate_time_zone],
        label="Time zone",
        help_text="Your nudges arrive at your local time. Filled in from your browser.",
        widget=forms.TextInput(attrs={"data-browser-timezone": "", "data-default": "UTC"}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        password = cleaned.get("password")
        if password:
            try:
                password_validation.validate_password(password)
            except ValidationError as error:
                self.add_error("password", error)
        return cleaned


def serializer_errors_to_form(form: forms.Form, errors: dict[str, Any]) -> None:
    """Put a serializer's (or a service's) `{field: [messages]}` on a form, each under its
    field when the form has it, else as a form-wide error."""
    for field, messages in errors.items():
        texts = messages if isinstance(messages, list) else [messages]
        for text in texts:
            form.add_error(field if field in form.fields else None, str(text))
