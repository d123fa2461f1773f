from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Role, User
from accounts.services import learning_account_required
from accounts.signin.permissions import HasRole
from common.http import SignedInApiRequest
from common.replicas import replica_reads

from .idempotency import IDEMPOTENCY_PARAMETER, idempotent
from .models import Programme
from .serializers import LearningGoalSerializer, ProgrammeSerializer
from .services import (
    learning_goal_remove,
    learning_goal_set,
    learning_goals_of,
    programmes_published,
)


class ProgrammeListView(generics.ListAPIView[Programme]):
    """Programmes and vocational certificates that institutions publish, with their courses."""

    permission_classes = [AllowAny]
    serializer_class = ProgrammeSerializer

    def get_queryset(self):
        return programmes_published()

    @replica_reads
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class LearningGoalListView(APIView):
    """The caller's learning goals; POST sets a new one."""

    permission_classes = [HasRole.of(Role.LEARNER)]

    @extend_schema(responses=LearningGoalSerializer(many=True))
    def get(self, request: SignedInApiRequest[User]) -> Response:
        goals = learning_goals_of(account=learning_account_required(user=request.user))
        return Response(LearningGoalSerializer(goals, many=True).data)

    @extend_schema(
        request=LearningGoalSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: LearningGoalSerializer},
    )
    @idempotent
    def post(self, request: SignedInApiRequest[User]) -> Response:
        serializer = LearningGoalSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        goal = learning_goal_set(
            account=learning_account_required(user=request.user),
            programme=serializer.validated_data["programme"],
            actor=request.user,
        )
        return Response(LearningGoalSerializer(goal).data, status=status.HTTP_201_CREATED)


class LearningGoalDetailView(APIView):
    """DELETE gives up one of the caller's goals."""

    permission_classes = [HasRole.of(Role.LEARNER)]

    @extend_schema(responses={204: None})
    def delete(self, request: SignedInApiRequest[User], pk: int) -> Response:
        goal = get_object_or_404(
            learning_goals_of(account=learning_account_required(user=request.user)), pk=pk
        )
        learning_goal_remove(goal=goal, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
