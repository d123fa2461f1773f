from rest_framework import serializers

from .models import Course, LearningGoal, Programme


class CourseSerializer(serializers.ModelSerializer):
    class Meta:
        model = Course
        fields = ["id", "code", "name", "name_en", "credits"]
        read_only_fields = fields


class ProgrammeSerializer(serializers.ModelSerializer):
    institution = serializers.CharField(source="institution.name", read_only=True)
    courses = CourseSerializer(many=True, read_only=True)

    class Meta:
        model = Programme
        fields = [
            "id",
            "code",
            "name",
            "name_en",
            "kind",
            "level",
            "institution",
            "credits_required",
            "description",
            "courses",
        ]
        read_only_fields = fields


class LearningGoalSerializer(serializers.ModelSerializer):
    programme = serializers.PrimaryKeyRelatedField(queryset=Programme.objects.all())
    programme_name = serializers.CharField(source="programme.display_name", read_only=True)
    institution = serializers.CharField(source="programme.institution.name", read_only=True)

    class Meta:
        model = LearningGoal
        fields = ["id", "programme", "programme_name", "institution", "created_at"]
        read_only_fields = ["id", "programme_name", "institution", "created_at"]
