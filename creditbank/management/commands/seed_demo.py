"""Demo data: the centres, institutions and one user per role, printed with their logins.

Idempotent: running it again leaves the same data; a demo password someone changed is set back,
an unchanged one is left alone (so sessions survive a restart).
Later parts of the portal add their own demo data (catalogue, conversion rules, calendar)
through the services of their apps.
"""

import base64
import datetime
import functools
import hashlib
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice
from fpdf import FPDF

from accounts.models import STAFF_ROLES, Centre, Institution, Role, User
from accounts.services import (
    collective_account_ensure,
    personal_account_find,
    personal_account_register,
)
from accounts.validators import uscc_check_character
from accreditation.catalogue import catalogue_current, catalogue_entry_publish
from accreditation.models import Application, CatalogueEntry
from accreditation.services import (
    agreement_publish_from,
    application_submit,
    trusted_bank_add,
    trusted_bank_for_issuer,
    trusted_bank_keys_set,
    trusted_banks_list,
)
from common.pdf import FONT_PATH
from outcomes.models import OutcomeKind
from outcomes.services import outcome_save, outcomes_of
from outcomes.storage import Upload
from transfers.certificates.linked_data import controller_document, issuer_did
from transfers.models import Course, Programme
from transfers.rules import conversion_rule_publish, conversion_rules_current

# The demo's password, printed for the demo on purpose.
DEMO_PASSWORD = "CreditBank-Demo-2026"  # noqa: S105  # nosec B105
# A made-up resident ID number with a valid check digit (Shapingba district, born 1985-04-12).
DEMO_LEARNER_ID = "500106198504121243"

MANAGEMENT_GROUP = "management administrators"

# --- The catalogue of accredited learning outcomes and its conversion rules -------------------

CATALOGUE_FROM = datetime.date(2024, 1, 1)
APPROVING_BODY = "重庆学分银行管理中心"
CATALOGUE_RATIONALE = "列入《重庆市终身教育学分银行学习成果认定目录（2024年版）》。"
QUALIFICATION = OutcomeKind.VOCATIONAL_QUALIFICATION
SKILL = OutcomeKind.SKILL_LEVEL
CERTIFICATE_SCAN = "证书原件扫描件或照片（含编号页）"
SKILL_EVIDENCE = "职业技能等级证书扫描件；可在技能人才评价证书全国联网查询系统核验"

DEMO_CATALOGUE: list[dict[str, Any]] = [
    {
        "code": "CQ-ZG-001",
        "name": "幼儿园园长任职资格证书",
        "name_en": "Kindergarten principal qualification certificate",
        "kind": QUALIFICATION,
        "issuing_body": "重庆市教育委员会",
        "level": "",
        "hours": 120,
        "credits": 6,
        "evidence_required": CERTIFICATE_SCAN + "；任职学校出具的任职证明",
        "aliases": ["幼儿园园长岗位任职资格培训合格证书", "园长任职资格证"],
        # The year of issue and a six-digit serial: YZ2019-000123.
        "certificate_number_pattern": r"YZ\d{4}-\d{6}",
    },
    {
        "code": "CQ-ZG-002",
        "name": "幼儿园教师资格证书",
        "name_en": "Preschool teacher qualification certificate",
        "kind": QUALIFICATION,
        "issuing_body": "重庆市教育委员会",
        "hours": 160,
        "credits": 8,
        "evidence_required": CERTIFICATE_SCAN + "；可在中国教师资格网核验",
        "aliases": ["幼儿教师资格证", "幼儿园教师资格证"],
        # Teacher qualification certificates carry a 17-digit number.
        "certificate_number_pattern": r"\d{17}",
    },
    {
        "code": "CQ-ZG-003",
        "name": "中小学教师资格证书",
        "name_en": "Primary and secondary school teacher qualification certificate",
        "kind": QUALIFICATION,
        "issuing_body": "重庆市教育委员会",
        "hours": 160,
        "credits": 8,
        "evidence_required": CERTIFICATE_SCAN + "；可在中国教师资格网核验",
        "aliases": ["小学教师资格证书", "初级中学教师资格证书", "高级中学教师资格证书"],
        "certificate_number_pattern": r"\d{17}",
    },
    {
        "code": "CQ-ZG-004",
        "name": "护士执业资格证书",
        "name_en": "Nurse qualification certificate",
        "kind": QUALIFICATION,
        "issuing_body": "国家卫生健康委员会",
        "hours": 200,
        "credits": 8,
        "evidence_required": CERTIFICATE_SCAN,
        "aliases": ["护士资格证"],
    },
    {
        "code": "CQ-ZG-005",
        "name": "会计专业技术资格证书（初级）",
        "name_en": "Accounting professional qualification certificate (junior)",
        "kind": QUALIFICATION,
        "issuing_body": "财政部、人力资源和社会保障部",
        "level": "初级",
        "hours": 120,
        "credits": 6,
        "evidence_required": "电子证书或纸质证书扫描件",
        "aliases": ["初级会计师", "初级会计职称", "助理会计师"],
    },
    {
        "code": "CQ-JN-001",
        "name": "保育师职业技能等级证书（四级/中级工）",
        "name_en": "Childcare worker vocational skill level certificate (level 4)",
        "kind": SKILL,
        "issuing_body": "重庆市职业技能鉴定指导中心",
        "level": "四级/中级工",
        "hours": 80,
        "credits": 4,
        "evidence_required": SKILL_EVIDENCE,
        "aliases": ["保育员职业资格证书（四级）", "保育员证", "保育师证书"],
    },
    {
        "code": "CQ-JN-002",
        "name": "育婴员职业技能等级证书（四级/中级工）",
        "name_en": "Infant care worker vocational skill level certificate (level 4)",
        "kind": SKILL,
        "issuing_body": "重庆市职业技能鉴定指导中心",
        "level": "四级/中级工",
        "hours": 80,
        "credits": 4,
        "evidence_required": SKILL_EVIDENCE,
        "aliases": ["育婴员证", "育婴师证书"],
    },
    {
        "code": "CQ-JN-003",
        "name": "电工职业技能等级证书（四级/中级工）",
        "name_en": "Electrician vocational skill level certificate (level 4)",
        "kind": SKILL,
        "issuing_body": "重庆市职业技能鉴定指导中心",
        "level": "四级/中级工",
        "hours": 120,
        "credits": 6,
        "evidence_required": SKILL_EVIDENCE + "；特种作业操作证（如有）",
        "aliases": ["中级电工证", "维修电工（四级）"],
    },
    {
        "code": "CQ-JN-004",
        "name": "企业人力资源管理师职业技能等级证书（三级）",
        "name_en": "Enterprise human resources manager skill level certificate (level 3)",
        "kind": SKILL,
        "issuing_body": "重庆市职业技能鉴定指导中心",
        "level": "三级/高级工",
        "hours": 150,
        "credits": 6,
        "evidence_required": SKILL_EVIDENCE,
        "aliases": ["人力资源管理师（三级）", "三级人力资源管理师"],
    },
    {
        "code": "CQ-JN-005",
        "name": "中式烹调师职业技能等级证书（四级/中级工）",
        "name_en": "Chinese cook vocational skill level certificate (level 4)",
        "kind": SKILL,
        "issuing_body": "重庆市职业技能鉴定指导中心",
        "level": "四级/中级工",
        "hours": 100,
        "credits": 4,
        "evidence_required": SKILL_EVIDENCE,
        "aliases": ["中级中式烹调师"],
    },
    {
        "code": "CQ-KS-001",
        "name": "全国计算机等级考试二级证书",
        "name_en": "National Computer Rank Examination certificate, level 2",
        "kind": SKILL,
        "issuing_body": "教育部教育考试院",
        "level": "二级",
        "hours": 60,
        "credits": 3,
        "evidence_required": "合格证书扫描件或电子证书",
        "aliases": ["NCRE二级", "计算机二级证书", "全国计算机等级考试（二级）"],
    },
    {
        "code": "CQ-KS-002",
        "name": "大学英语四级考试成绩报告单",
        "name_en": "College English Test Band 4 (CET-4) score report",
        "kind": SKILL,
        "issuing_body": "教育部教育考试院",
        "level": "425分及以上",
        "hours": 64,
        "credits": 4,
        "evidence_required": "成绩报告单扫描件；可在中国教育考试网核验",
        "aliases": ["大学英语四级", "CET-4", "CET4", "英语四级证书"],
        "certificate_number_pattern": r"\d{15}",
    },
    {
        "code": "CQ-KS-003",
        "name": "普通话水平测试等级证书（二级甲等及以上）",
        "name_en": "Putonghua proficiency test certificate (grade 2A or above)",
        "kind": SKILL,
        "issuing_body": "国家语言文字工作委员会",
        "level": "二级甲等及以上",
        "hours": 32,
        "credits": 2,
        "evidence_required": "普通话水平测试等级证书扫描件或电子证书",
        "aliases": ["普通话水平测试等级证书", "普通话等级证书", "普通话证"],
    },
    {
        "code": "CQ-PX-001",
        "name": "幼儿园教师全员培训（国培计划）",
        "name_en": "National training programme for kindergarten teachers",
        "kind": OutcomeKind.TRAINING,
        "issuing_body": "重庆市教育委员会",
        "hours": 72,
        "credits": 4,
        "evidence_required": "培训结业证书；培训机构出具的学时证明",
        "aliases": ["国培计划幼儿园教师培训", "幼儿园教师国培"],
    },
    {
        "code": "CQ-PX-002",
        "name": "婴幼儿照护服务人员岗位培训",
        "name_en": "Job training for infant and toddler care staff",
        "kind": OutcomeKind.TRAINING,
        "issuing_body": "重庆市卫生健康委员会",
        "hours": 40,
        "credits": 2,
        "validity_months": 36,
        "evidence_required": "培训合格证明；培训机构出具的学时证明",
        "aliases": ["托育服务人员培训", "婴幼儿照护培训"],
    },
    {
        "code": "CQ-PX-003",
        "name": "生产经营单位安全生产管理人员培训",
        "name_en": "Work safety training for managers of businesses",
        "kind": OutcomeKind.TRAINING,
        "issuing_body": "重庆市应急管理局",
        "hours": 48,
        "credits": 2,
        "validity_months": 36,
        "evidence_required": "安全生产知识和管理能力考核合格证明",
        "aliases": ["安全生产管理人员培训", "安全管理人员培训"],
    },
    {
        "code": "CQ-WK-001",
        "name": "幼儿园环境创设",
        "name_en": "Kindergarten environment design (online course)",
        "kind": OutcomeKind.ONLINE_COURSE,
        "issuing_body": "重庆开放大学",
        "hours": 36,
        "credits": 2,
        "evidence_required": "课程平台学习记录截图及结业证明",
        "aliases": ["幼儿园环境创设网络课程"],
    },
    {
        "code": "CQ-WK-002",
        "name": "学前儿童发展心理学",
        "name_en": "Developmental psychology of young children (online course)",
        "kind": OutcomeKind.ONLINE_COURSE,
        "issuing_body": "中国大学MOOC（爱课程）",
        "hours": 32,
        "credits": 2,
        "evidence_required": "中国大学MOOC认证证书或成绩单（成绩合格）",
        "aliases": ["学前儿童发展心理学MOOC"],
    },
    {
        "code": "CQ-WK-003",
        "name": "老年人智能手机应用",
        "name_en": "Smartphone use for older people (online course)",
        "kind": OutcomeKind.ONLINE_COURSE,
        "issuing_body": "重庆市终身学习网",
        "hours": 16,
        "credits": 1,
        "evidence_required": "平台学习记录截图",
        "aliases": ["智能手机应用课程"],
    },
    {
        "code": "CQ-JS-001",
        "name": "全国职业院校技能大赛学前教育专业技能赛项获奖证书",
        "name_en": "National vocational college skills competition award, preschool education",
        "kind": OutcomeKind.COMPETITION_AWARD,
        "issuing_body": "全国职业院校技能大赛组织委员会",
        "level": "三等奖及以上",
        "hours": 60,
        "credits": 4,
        "evidence_required": "获奖证书扫描件",
        "aliases": ["全国职业院校技能大赛学前教育专业技能"],
    },
    {
        "code": "CQ-JS-002",
        "name": "重庆市职业技能大赛获奖证书",
        "name_en": "Chongqing vocational skills competition award",
        "kind": OutcomeKind.COMPETITION_AWARD,
        "issuing_body": "重庆市人力资源和社会保障局",
        "level": "三等奖及以上",
        "hours": 48,
        "credits": 3,
        "evidence_required": "获奖证书扫描件",
        "aliases": ["重庆市技能大赛获奖"],
    },
]

# (entry code, institution, programme code, course code, credits, rationale); the first two
# are the source texts' own examples.
DEMO_CONVERSION_RULES: list[tuple[str, str, str, str, str, str]] = [
    (
        "CQ-ZG-001", "university", "PRE-ZK", "PRE101", "3",
        "园长任职资格培训覆盖幼儿园教研工作管理课程的全部教学目标。",
    ),
    (
        "CQ-ZG-002", "university", "PRE-ZK", "PRE102", "3",
        "教师资格考试保教知识与能力科目覆盖幼儿游戏活动设计与组织课程的教学目标。",
    ),
    (
        "CQ-JN-001", "university", "PRE-ZK", "PRE106", "3",
        "保育师四级鉴定内容覆盖学前儿童卫生与保健课程。",
    ),
    (
        "CQ-JN-001", "certificate_body", "BYS-4", "BYS-T", "2",
        "已取得保育员（四级）证书者免考理论知识。",
    ),
    (
        "CQ-JN-001", "certificate_body", "BYS-4", "BYS-P", "2",
        "已取得保育员（四级）证书者免考操作技能。",
    ),
    (
        "CQ-WK-002", "university", "PRE-ZK", "PRE103", "2",
        "MOOC课程内容与学前儿童发展心理学课程部分对应，认定部分学分。",
    ),
    (
        "CQ-PX-001", "university", "PRE-ZK", "PRE105", "2",
        "国培计划课程模块覆盖幼儿园课程论的主要内容。",
    ),
    (
        "CQ-JS-001", "university", "PRE-ZK", "PRE102", "3",
        "学前教育专业技能赛项包含幼儿游戏活动设计与组织。",
    ),
]  # fmt: skip


DEMO_BANK_NAME = "示范学分银行（演示：本门户自身）"


@functools.cache
def _certificate_pdf(title: str, number: str) -> bytes:
    """A one-page scan stand-in, so the demo evidence opens like a real file. Made once a
    process: loading the CJK font and subsetting it takes ~0.7 s a file, and a test that loads
    the demo data (each browser page test) would pay it every time."""
    pdf = FPDF()
    pdf.add_page()
    pdf.add_font("noto", fname=str(FONT_PATH))
    pdf.set_font("noto", size=18)
    pdf.cell(text=title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("noto", size=12)
    pdf.cell(text=f"证书编号 {number}  邵涛涛（演示数据）")
    return bytes(pdf.output())


def _demo_password_keep(user: User) -> None:
    """Give ``user`` the demo password unless they have it already: setting it again would
    change the hash (a new salt) and so sign out every session of theirs on each `make run`."""
    if not user.check_password(DEMO_PASSWORD):
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])


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
            _demo_password_keep(user)
            if role == Role.MANAGEMENT_ADMIN:
                user.groups.add(group)
            secret = self._demo_authenticator(user) if role in STAFF_ROLES else ""
            rows.append((role.label, username, name, str(centre or institution or ""), secret))
        # The demo institution administrator's "our members" needs the group's open account.
        collective_account_ensure(
            institution=kindergarten_group,
            admin=User.objects.get(username="inst.admin"),
            decided_by=User.objects.get(username="admin.yuzhong"),
        )
        entries, rules = self._catalogue(
            actor=User.objects.get(username="manager"),
            university=open_university,
            certificate_body=certificate_body,
        )
        self.stdout.write(f"Catalogue: {entries} entries in effect, {rules} conversion rules.")
        self._recognition_demo(actor=User.objects.get(username="manager"))
        submitted = self._demo_outcomes(learner, centre=yuzhong)
        if submitted is not None:
            self.stdout.write(
                f"Demo application #{submitted.pk} waits in the queue of {yuzhong.name}, "
                f"due on {submitted.due_on}."
            )

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
        _demo_password_keep(user)
        return user

    @staticmethod
    def _demo_outcomes(learner: User, *, centre: Centre) -> Application | None:
        """Two results of the source texts in the demo learner's file, once: the kindergarten
        principal qualification certificate submitted to a centre (so the reviewer's queue has
        something to accredit), and the preschool teacher certificate saved."""
        account = learner.learning_account
        if outcomes_of(account=account).exists():
            return None
        results = [
            ("幼儿园园长任职资格证书", "YZ2019-000123", datetime.date(2019, 7, 12)),
            ("幼儿园教师资格证书", "20135000000001234", datetime.date(2013, 6, 28)),
        ]
        outcomes = [
            outcome_save(
                account=account,
                actor=learner,
                data={
                    "kind": OutcomeKind.VOCATIONAL_QUALIFICATION,
                    "title": title,
                    "issuing_body": "重庆市教育委员会",
                    "certificate_number": number,
                    "achieved_on": achieved_on,
                    "result": "合格",
                },
                uploads=[Upload(name=f"{title}.pdf", data=_certificate_pdf(title, number))],
            )
            for title, number, achieved_on in results
        ]
        return application_submit(outcome=outcomes[0], centre=centre, actor=learner)

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
    def _catalogue(
        *, actor: User, university: Institution, certificate_body: Institution
    ) -> tuple[int, int]:
        """The catalogue and its conversion rules, published through their services: running
        the seed again publishes nothing new (identical versions are no-ops)."""
        for fields in DEMO_CATALOGUE:
            catalogue_entry_publish(
                **fields,
                effective_from=CATALOGUE_FROM,
                approving_body=APPROVING_BODY,
                rationale=CATALOGUE_RATIONALE,
                actor=actor,
            )
        institutions = {"university": university, "certificate_body": certificate_body}
        for code, institution, programme, course, credits, rationale in DEMO_CONVERSION_RULES:
            conversion_rule_publish(
                entry=CatalogueEntry.objects.get(code=code),
                course=Course.objects.get(
                    programme__institution=institutions[institution],
                    programme__code=programme,
                    code=course,
                ),
                credits=Decimal(credits),
                effective_from=CATALOGUE_FROM,
                approving_body=APPROVING_BODY,
                rationale=rationale,
                actor=actor,
            )
        return catalogue_current().count(), conversion_rules_current().count()

    def _recognition_demo(self, *, actor: User) -> None:
        """A trusted bank and an agreement, so that the recognition flow can be tried on one
        machine: the "other bank" is this portal itself under a demo name (its issuer id and
        its own key document), and its principal certificate entry (CQ-ZG-001) is recognised
        as ours. A transfer record requested here can then be brought back on
        /recognitions/ with its claim code (README, "Mutual recognition"). Re-running changes
        nothing."""
        issuer, document = issuer_did(), controller_document()
        if trusted_banks_list(active=False).filter(issuer=issuer).exists():
            self.stdout.write("Recognition: the demo bank was taken off the trust list; kept so.")
            return
        bank = trusted_bank_for_issuer(issuer=issuer)
        if bank is None:
            bank = trusted_bank_add(
                name=DEMO_BANK_NAME,
                issuer=issuer,
                key_document=document,
                reason="演示：在一台机器上试用学分互认",
                actor=actor,
            )
        elif bank.key_document != document:
            trusted_bank_keys_set(
                bank=bank, key_document=document, reason="演示：签名密钥已更换", actor=actor
            )
        agreement_publish_from(
            fields={
                "bank": bank,
                "origin_code": "CQ-ZG-001",
                "origin_version_from": "1",
                "origin_version_to": "",
                "entry_code": "CQ-ZG-001",
                "hours": "120",
                "credits": "6",
                "effective_from": CATALOGUE_FROM,
                "approving_body": APPROVING_BODY,
                "rationale": "演示互认协议：对方的幼儿园园长任职资格证书按本行同一条目认定",
            },
            actor=actor,
        )
        self.stdout.write(f"Recognition: {bank.name} trusted, with an agreement for CQ-ZG-001.")

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
