"""Every table: the 15 of the seed, then the extensions named in docs/schema.md."""

from goalpath.models.audit_event import AuditEvent
from goalpath.models.base import Base
from goalpath.models.goal import Goal
from goalpath.models.health_note import HealthNote
from goalpath.models.identity_provider import IdentityProvider
from goalpath.models.password_history import PasswordHistory
from goalpath.models.password_reset_token import PasswordResetToken
from goalpath.models.permission import Permission
from goalpath.models.program import Program
from goalpath.models.progress_event import ProgressEvent
from goalpath.models.progress_report import ProgressReport
from goalpath.models.progress_report_revision import ProgressReportRevision
from goalpath.models.recovery_code import RecoveryCode
from goalpath.models.report_period import ReportPeriod
from goalpath.models.role import Role
from goalpath.models.role_permission import RolePermission
from goalpath.models.roster_enrollment import RosterEnrollment
from goalpath.models.roster_source import RosterSource
from goalpath.models.school_district import SchoolDistrict
from goalpath.models.second_factor_challenge import SecondFactorChallenge
from goalpath.models.student import Student
from goalpath.models.user import User
from goalpath.models.user_program import UserProgram
from goalpath.models.user_second_factor import UserSecondFactor
from goalpath.models.user_session import UserSession
from goalpath.models.user_student import UserStudent

__all__ = [
    "AuditEvent",
    "Base",
    "Goal",
    "HealthNote",
    "IdentityProvider",
    "PasswordHistory",
    "PasswordResetToken",
    "Permission",
    "Program",
    "ProgressEvent",
    "ProgressReport",
    "ProgressReportRevision",
    "RecoveryCode",
    "ReportPeriod",
    "Role",
    "RolePermission",
    "RosterEnrollment",
    "RosterSource",
    "SchoolDistrict",
    "SecondFactorChallenge",
    "Student",
    "User",
    "UserProgram",
    "UserSecondFactor",
    "UserSession",
    "UserStudent",
]
