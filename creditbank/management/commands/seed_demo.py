"""Demo data: the centres, institutions and one user per role, printed with their logins.

Idempotent: running it again leaves the same data (passwords are reset to the demo password).
Later parts of the portal add their own demo data (catalogue, conversion rules, calendar)
through the services of their apps.
"""

import base64
import hashlib
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import STAFF_ROLES, Centre, Institution, Role, User
from accounts.services import personal_account_find, personal_account_register
from accounts.validators import uscc_check_character
from transfers.models import Course, Programme

DEMO_PASSWORD = "CreditBank-Demo-2026"  # noqa: S105 - printed for the demo on purpose
# A made-up resident ID number with a valid check digit (Shapingba district, born 1985-04-12).
DEMO_LEARNER_ID = "500106198504121243"

MANAGEMENT_GROUP = "management administrators"


def credit_code(first17: str) -> str:
    return first17 + uscc_check_character(first17)


class Command(BaseCommand):
    help = "Load the demo centres, institutions and one user per role, and print their logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Seed even when DJANGO_ENV=production (a demo installation).",
        )

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION and not options["allow_production"]:
            raise CommandError(
                "Refusing to load demo users with a known password into production; "
                "pass --allow-production for a demo installation."
            )

        management, _ = Centre.objects.update_or_create(
            code="CQ-MC",
            defaults={
                "name": "重庆市终身教育学分银行管理中心",
                "kind": Centre.Kind.MANAGEMENT,
                "parent": None,
                "address": "重庆市渝中区华岩寺路5号（重庆开放大学）",
                "phone": "023-68000000",
            },
        )
        yuzhong, _ = Centre.objects.update_or_create(
            code="CQ-YZ",
            defaults={
                "name": "渝中区学习成果认证分中心",
                "kind": Centre.Kind.BRANCH,
                "parent": management,
                "address": "重庆市渝中区",
                "phone": "023-63000000",
            },
        )
        shapingba, _ = Centre.objects.update_or_create(
            code="CQ-SPB",
            defaults={
                "name": "沙坪坝区学习成果认证分中心",
                "kind": Centre.Kind.BRANCH,
                "parent": management,
                "address": "重庆市沙坪坝区",
                "phone": "023-65000000",
            },
        )

        open_university, _ = Institution.objects.update_or_create(
            credit_code=credit_code("12500000450400048"),
            defaults={
                "name": "重庆开放大学",
                "kind": Institution.Kind.DEGREE_INSTITUTION,
                "centre": management,
            },
        )
        kindergarten_group, _ = Institution.objects.update_or_create(
            credit_code=credit_code("91500103MA5U00001"),
            defaults={
                "name": "重庆市阳光幼教集团有限公司",
                "kind": Institution.Kind.ENTERPRISE,
                "centre": yuzhong,
            },
        )

        certificate_body, _ = Institution.objects.update_or_create(
            credit_code=credit_code("12500000MB1600012"),
            defaults={
                "name": "重庆市职业技能鉴定指导中心",
                "kind": Institution.Kind.CERTIFICATE_BODY,
                "centre": management,
            },
        )
        self._programmes(open_university, certificate_body)

        group = self._management_group()
        people = [
            ("reviewer.yuzhong", "李明", Role.CENTRE_REVIEWER, yuzhong, None, "13800000002"),
            ("reviewer.shapingba", "周琳", Role.CENTRE_REVIEWER, shapingba, None, "13800000003"),
            ("admin.yuzhong", "王芳", Role.CENTRE_ADMIN, yuzhong, None, "13800000004"),
            ("manager", "陈建国", Role.MANAGEMENT_ADMIN, management, None, "13800000005"),
            ("inst.admin", "赵磊", Role.INSTITUTION_ADMIN, None, kindergarten_group, "13800000006"),
            (
                "officer.cqou",
                "刘洋",
                Role.INSTITUTION_OFFICER,
                None,
                open_university,
                "13800000007",
            ),
        ]
        learner = self._demo_learner()
        rows = [(Role.LEARNER.label, learner.username, learner.name, "13800000001", "")]
        for username, name, role, centre, institution, phone in people:
            user, _ = User.objects.update_or_create(
                username=username,
                defaults={
                    "name": name,
                    "email": f"{username}@demo.creditbank.example",
                    "phone": phone,
                    "role": role,
                    "centre": centre,
                    "institution": institution,
                    # The management administrator keeps the catalogue, rules and calendar in
                    # the admin site.
                    "is_staff": role == Role.MANAGEMENT_ADMIN,
                },
            )
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
            if role == Role.MANAGEMENT_ADMIN:
                user.groups.add(group)
            secret = self._demo_authenticator(user) if role in STAFF_ROLES else ""
            rows.append((role.label, username, name, str(centre or institution or ""), secret))

        self.stdout.write(
            self.style.SUCCESS("Demo data loaded. Logins (password for all: ")
            + DEMO_PASSWORD
            + self.style.SUCCESS("):")
        )
        for role_label, username, name, place, secret in rows:
            self.stdout.write(f"  {role_label!s:<28} {username:<20} {name}  {place}")
            if secret:
                self.stdout.write(f"  {'':<28} authenticator key: {secret}")
        self.stdout.write(
            "Staff sign in with a second factor: add the key to an authenticator app, or print "
            "the current code with `python manage.py demo_totp_code <username>`."
        )

    @staticmethod
    def _demo_learner() -> User:
        """Shao Taotao of the source text: a personal learning account opened through the same
        service as online registration (so it has its file and history), once."""
        account = personal_account_find(id_type="resident_id", id_number=DEMO_LEARNER_ID)
        if account is None:
            account = personal_account_register(
                name="邵涛涛",
                id_type="resident_id",
                id_number=DEMO_LEARNER_ID,
                phone="13800000001",
                email="shao.taotao@demo.creditbank.example",
                password=DEMO_PASSWORD,
            )
        user = User.objects.get(learning_account=account)
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
        return user

    @staticmethod
    def _programmes(university: Institution, certificate_body: Institution) -> None:
        """The Preschool Education major of the source texts, with the two courses that the
        kindergarten principal and preschool teacher qualification certificates convert to, and
        a vocational certificate."""
        preschool, _ = Programme.objects.update_or_create(
            institution=university,
            code="PRE-ZK",
            defaults={
                "name": "学前教育（专科）",
                "name_en": "Preschool Education (associate degree)",
                "kind": Programme.Kind.DEGREE,
                "level": "专科",
                "credits_required": 76,
                "description": "面向在职幼儿教师的开放教育专科专业。",
            },
        )
        courses = [
            ("PRE101", "幼儿园教研工作管理", "Teaching and research work management", 3),
            (
                "PRE102",
                "幼儿游戏活动设计与组织",
                "Children's game activity design and organisation",
                3,
            ),
            ("PRE103", "学前儿童发展心理学", "Developmental psychology of young children", 4),
            ("PRE104", "学前教育学", "Preschool pedagogy", 4),
            ("PRE105", "幼儿园课程论", "Kindergarten curriculum", 3),
            ("PRE106", "学前儿童卫生与保健", "Health and care of young children", 3),
            ("PRE107", "幼儿园管理", "Kindergarten management", 3),
            ("PRE108", "学前儿童语言教育", "Language education of young children", 3),
        ]
        for code, name, name_en, credits in courses:
            Course.objects.update_or_create(
                programme=preschool,
                code=code,
                defaults={"name": name, "name_en": name_en, "credits": credits},
            )
        childcare, _ = Programme.objects.update_or_create(
            institution=certificate_body,
            code="BYS-4",
            defaults={
                "name": "保育师（四级/中级工）",
                "name_en": "Childcare worker (level 4)",
                "kind": Programme.Kind.VOCATIONAL_CERTIFICATE,
                "level": "四级",
            },
        )
        for code, name, name_en, credits in [
            ("BYS-T", "保育理论知识", "Childcare theory", 2),
            ("BYS-P", "保育操作技能", "Childcare practical skills", 2),
        ]:
            Course.objects.update_or_create(
                programme=childcare,
                code=code,
                defaults={"name": name, "name_en": name_en, "credits": credits},
            )

    @staticmethod
    def _demo_authenticator(user: User) -> str:
        """A confirmed authenticator with a key fixed per user, so a demo stays usable after
        re-seeding; returns the key in the base32 form authenticator apps take."""
        key = hashlib.sha256(f"demo-totp:{user.username}".encode()).hexdigest()[:40]
        TOTPDevice.objects.update_or_create(
            user=user, name="demo", defaults={"key": key, "confirmed": True, "last_t": -1}
        )
        return base64.b32encode(bytes.fromhex(key)).decode().rstrip("=")

    @staticmethod
    def _management_group() -> Group:
        group, _ = Group.objects.get_or_create(name=MANAGEMENT_GROUP)
        group.permissions.set(
            Permission.objects.filter(
                content_type__app_label__in=[
                    "accounts",
                    "outcomes",
                    "accreditation",
                    "transfers",
                    # Resetting a staff member's authenticator when they lose their phone.
                    "otp_totp",
                ]
            ).exclude(content_type__model="user", codename__startswith="delete")
        )
        return group
