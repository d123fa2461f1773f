from django.contrib import admin

from .models import Course, LearningGoal, PreAssessmentPolicy, Programme


class CourseInline(admin.TabularInline):
    model = Course
    extra = 0


@admin.register(Programme)
class ProgrammeAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "name_en", "institution", "kind", "is_published"]
    list_filter = ["kind", "is_published", "institution"]
    search_fields = ["code", "name", "name_en"]
    inlines = [CourseInline]


@admin.register(LearningGoal)
class LearningGoalAdmin(admin.ModelAdmin):
    list_display = ["account", "programme", "created_at"]
    raw_id_fields = ["account"]


@admin.register(PreAssessmentPolicy)
class PreAssessmentPolicyAdmin(admin.ModelAdmin):
    """How many working days each institution gives itself to answer a pre-assessment."""

    list_display = ["institution", "working_days"]
