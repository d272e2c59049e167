"""Every model, imported in one place so metadata (and Alembic) sees the whole schema."""

from hub.auth import ApiToken, User
from hub.campaigns.models import (
    Campaign,
    CareRule,
    CareSent,
    MessageTemplate,
    Segment,
    SurveyResponse,
)
from hub.channels.call_models import AgentProfile, Call
from hub.channels.models import Message, Suppression, WebhookEvent
from hub.crm.complaints import Complaint, ComplaintAttachment
from hub.crm.duplicate_models import CustomerMerge, DuplicateCandidate
from hub.crm.followups import FollowUp
from hub.crm.import_models import ImportRowOutcome, ImportRun
from hub.crm.lead_forms import LeadForm
from hub.crm.models import (
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
from hub.crm.opportunities import Opportunity
from hub.crm.orders import Order, OrderLine
from hub.crm.receivable_models import CreditAction, CreditEvent, Payment, Receivable
from hub.crm.reminders import Digest
from hub.db import Base
from hub.insight.summaries import (
    InsightCampaignStats,
    InsightCustomerFacts,
    InsightDaily,
    InsightRefresh,
)
from hub.system import WorkerHeartbeat

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
