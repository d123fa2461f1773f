from decimal import Decimal

from django.contrib.auth import authenticate
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from .identity import IdType
from .mfa import second_factor_required, totp_device_of, totp_verify
from .models import LearningAccount, StaffAccess, User


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


PHONE_VALIDATOR = RegexValidator(
    r"^(1[3-9]\d{9}|\+\d{6,15})$",
    _("Enter a mainland mobile number (11 digits) or an international number starting with +."),
)


class RegistrationSerializer(serializers.Serializer):
    name = serializers.CharField(label=_("Name"), max_length=150)
    id_type = serializers.ChoiceField(label=_("Identity document"), choices=IdType.choices)
    id_number = serializers.CharField(label=_("Identity number"), max_length=40, write_only=True)
    phone = serializers.CharField(
        label=_("Mobile phone"), max_length=20, validators=[PHONE_VALIDATOR]
    )
    email = serializers.EmailField(label=_("Email"), max_length=254)
    password = serializers.CharField(
        label=_("Password"),
        write_only=True,
        trim_whitespace=False,
        max_length=128,
        style={"input_type": "password"},
    )


class LearningAccountSerializer(serializers.ModelSerializer):
    """A learning account as its holder or staff see it: the identity number only masked."""

    account_number = serializers.CharField(source="number", read_only=True)
    name = serializers.CharField(source="holder.name", read_only=True)
    email = serializers.EmailField(source="holder.email", read_only=True)
    phone = serializers.CharField(source="holder.phone", read_only=True)
    id_number_masked = serializers.CharField(read_only=True)
    hours = serializers.DecimalField(max_digits=10, decimal_places=1, read_only=True)
    credits = serializers.DecimalField(max_digits=8, decimal_places=1, read_only=True)
    # Credits institutions recognised for courses (the transferred book of the ledger).
    transferred_credits = serializers.DecimalField(
        max_digits=8, decimal_places=1, read_only=True, default=Decimal(0)
    )

    class Meta:
        model = LearningAccount
        fields = [
            "account_number",
            "kind",
            "status",
            "name",
            "email",
            "phone",
            "id_type",
            "id_number_masked",
            "birth_date",
            "gender",
            "identity_check",
            "opened_at",
            "hours",
            "credits",
            "transferred_credits",
        ]
        read_only_fields = fields


class StaffAccessSerializer(serializers.ModelSerializer):
    staff = serializers.CharField(source="staff.get_full_name", read_only=True)
    centre = serializers.CharField(source="staff.centre", read_only=True, default="")

    class Meta:
        model = StaffAccess
        fields = ["occurred_at", "staff", "centre", "kind", "reason"]
        read_only_fields = fields


class ContactDetailsSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    phone = serializers.CharField(max_length=20, validators=[PHONE_VALIDATOR])
    password = serializers.CharField(
        write_only=True, trim_whitespace=False, max_length=128, help_text=_("To confirm.")
    )
