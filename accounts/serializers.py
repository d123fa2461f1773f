from django.contrib.auth import authenticate
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from .models import User


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(
        label=_("Username"),
        help_text=_("Learning account number, email address or mobile phone number."),
        max_length=254,
    )
    password = serializers.CharField(
        label=_("Password"), style={"input_type": "password"}, trim_whitespace=False, max_length=128
    )

    def validate(self, attrs: dict) -> dict:
        user = authenticate(
            request=self.context.get("request"),
            username=attrs["username"],
            password=attrs["password"],
        )
        if user is None:
            raise serializers.ValidationError(
                _("Unable to sign in with these credentials."), code="authorization"
            )
        attrs["user"] = user
        return attrs


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField(help_text=_("Send as 'Authorization: Token <token>'."))
    expiry = serializers.DateTimeField(allow_null=True)


class UserSerializer(serializers.ModelSerializer):
    centre: serializers.StringRelatedField = serializers.StringRelatedField()
    institution: serializers.StringRelatedField = serializers.StringRelatedField()

    class Meta:
        model = User
        fields = ["username", "name", "role", "centre", "institution"]
        read_only_fields = fields
