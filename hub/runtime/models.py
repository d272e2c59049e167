"""Every model, imported in one place so metadata (and Alembic) sees the whole schema."""

from hub.campaigns.care.models import CareRule, CareSent
from hub.campaigns.models import Campaign
from hub.campaigns.segments.models import Segment
from hub.campaigns.surveys.models import SurveyResponse
from hub.campaigns.templates.models import MessageTemplate
from hub.channels.calls.models import AgentProfile, Call
from hub.channels.models import Message, Suppression, WebhookEvent
from hub.core.auth import ApiToken, User
from hub.core.db import Base
from hub.crm.customers.duplicate_models import CustomerMerge, DuplicateCandidate
from hub.crm.customers.models import (
    Assignment,
    AuditEntry,
    Consent,
    Contact,
    CrmSetting,
    Customer,
    CustomField,
    CustomFieldValue,
    Tag,
)
from hub.crm.followups.models import Digest, FollowUp
from hub.crm.intake.import_models import ImportRowOutcome, ImportRun
from hub.crm.intake.lead_forms import LeadForm
from hub.crm.sales.models import Opportunity, Order, OrderLine
from hub.crm.sales.receivable_models import CreditAction, CreditEvent, Payment, Receivable
from hub.crm.service.models import Complaint, ComplaintAttachment
from hub.insight.summaries import (
    InsightCampaignStats,
    InsightCustomerFacts,
    InsightDaily,
    InsightRefresh,
)
from hub.web.system import WorkerHeartbeat

metadata = Base.metadata

__all__ = [
    "AgentProfile",
    "ApiToken",
    "Assignment",
    "Call",
    "AuditEntry",
    "Campaign",
    "CareRule",
    "CareSent",
    "Complaint",
    "ComplaintAttachment",
    "Consent",
    "CreditAction",
    "CreditEvent",
    "Contact",
    "CrmSetting",
    "CustomField",
    "CustomFieldValue",
    "Customer",
    "CustomerMerge",
    "Digest",
    "DuplicateCandidate",
    "FollowUp",
    "ImportRowOutcome",
    "ImportRun",
    "InsightCampaignStats",
    "InsightCustomerFacts",
    "InsightDaily",
    "InsightRefresh",
    "LeadForm",
    "Message",
    "MessageTemplate",
    "Opportunity",
    "Order",
    "OrderLine",
    "Payment",
    "Receivable",
    "Segment",
    "Suppression",
    "SurveyResponse",
    "Tag",
    "User",
    "WebhookEvent",
    "WorkerHeartbeat",
    "metadata",
]
