from typing import Any

from django.contrib.auth import authenticate
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.core.models import User
from accounts.signin.mfa import second_factor_required, totp_device_of, totp_verify
from accounts.signin.models import SmsCode
from accounts.validators import PHONE_VALIDATOR, normalise_phone


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(
        label=_("Username"),
        help_text=_("Learning account number, email address or mobile phone number."),
        max_length=254,
    )
    password = serializers.CharField(
        label=_("Password"), style={"input_type": "password"}, trim_whitespace=False, max_length=128
    )
    otp_code = serializers.CharField(
        label=_("One-time code"),
        help_text=_("Staff and institution administrators: the code from the authenticator app."),
        required=False,
        allow_blank=True,
        max_length=10,
    )

    def validate(self, attrs: dict) -> dict:
        request = self.context.get("request")
        user = authenticate(
            # The Django request under DRF's wrapper: django-axes marks a locked-out attempt on
            # it, and its middleware answers from that mark.
            request=getattr(request, "_request", request),
            username=attrs["username"],
            password=attrs["password"],
        )
        if user is None:
            raise serializers.ValidationError(
                _("Unable to sign in with these credentials."), code="authorization"
            )
        if second_factor_required(user):
            if totp_device_of(user) is None:
                raise serializers.ValidationError(
                    {"otp_code": _("Set up two-factor sign-in on the portal's web pages first.")}
                )
            if not attrs.get("otp_code"):
                raise serializers.ValidationError(
                    {"otp_code": _("Staff sign in with a code from their authenticator app.")}
                )
            if totp_verify(user=user, code=attrs["otp_code"]) is None:
                raise serializers.ValidationError(
                    {"otp_code": _("That code is not valid or was already used.")}
                )
        attrs["user"] = user
        return attrs


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField(help_text=_("Send as 'Authorization: Token <token>'."))
    expiry = serializers.DateTimeField(allow_null=True)


class UserSerializer(serializers.ModelSerializer):
    centre: serializers.StringRelatedField = serializers.StringRelatedField(allow_null=True)
    institution: serializers.StringRelatedField = serializers.StringRelatedField(allow_null=True)

    class Meta:
        model = User
        fields = ["username", "name", "role", "centre", "institution"]
        read_only_fields = fields


class ContactDetailsSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    phone = serializers.CharField(max_length=20, validators=[PHONE_VALIDATOR])
    password = serializers.CharField(
        write_only=True, trim_whitespace=False, max_length=128, help_text=_("To confirm.")
    )


class SmsPhoneField(serializers.CharField):
    """A mobile number as people write it, checked and kept as digits (and a leading +)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault("label", _("Mobile phone"))
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = normalise_phone(super().to_internal_value(data))
        PHONE_VALIDATOR(value)
        return value


class SmsCodeRequestSerializer(serializers.Serializer):
    phone = SmsPhoneField()
    purpose = serializers.ChoiceField(
        choices=SmsCode.Purpose.choices,
        help_text=_("register: before POST /api/v1/accounts/ with phone_code; password_reset."),
    )


class SmsPasswordResetSerializer(serializers.Serializer):
    phone = SmsPhoneField()
    code = serializers.CharField(max_length=6, help_text=_("The 6 digits the SMS brought."))
    new_password = serializers.CharField(
        style={"input_type": "password"}, trim_whitespace=False, max_length=128
    )


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()
