"""Fixed vocabularies of the simulated company: categorical codes, names, places, products.

Categorical values are stored as small integer codes during the simulation; these tuples map
the codes to the contract's allowed values.
"""

from __future__ import annotations

SEGMENTS = ("Residential", "SMB", "Enterprise", "Government")
SEGMENT_SHARES = (0.80, 0.12, 0.05, 0.03)
RESIDENTIAL = 0
TIERS = ("Bronze", "Silver", "Gold", "Platinum")
#: tier mix per segment (rows: SEGMENTS)
TIER_SHARES = (
    (0.45, 0.32, 0.17, 0.06),
    (0.25, 0.35, 0.28, 0.12),
    (0.10, 0.25, 0.35, 0.30),
    (0.15, 0.30, 0.35, 0.20),
)
STATUSES = ("Active", "Inactive", "Churned")
ACTIVE, INACTIVE, CHURNED = 0, 1, 2
REGIONS = ("North", "South", "East", "West", "Central")
COUNTRY = "US"

#: (city, state, region index, phone area code)
CITIES = (
    ("Minneapolis", "MN", 0, 612),
    ("Chicago", "IL", 0, 312),
    ("Detroit", "MI", 0, 313),
    ("Milwaukee", "WI", 0, 414),
    ("Houston", "TX", 1, 713),
    ("Atlanta", "GA", 1, 404),
    ("Miami", "FL", 1, 305),
    ("Nashville", "TN", 1, 615),
    ("New York", "NY", 2, 212),
    ("Boston", "MA", 2, 617),
    ("Philadelphia", "PA", 2, 215),
    ("Baltimore", "MD", 2, 410),
    ("Los Angeles", "CA", 3, 213),
    ("Seattle", "WA", 3, 206),
    ("Portland", "OR", 3, 503),
    ("San Diego", "CA", 3, 619),
    ("Denver", "CO", 4, 303),
    ("Kansas City", "MO", 4, 816),
    ("Omaha", "NE", 4, 402),
    ("Oklahoma City", "OK", 4, 405),
)
CITY_SHARES = (
    0.06,
    0.08,
    0.04,
    0.04,
    0.08,
    0.06,
    0.06,
    0.04,
    0.09,
    0.05,
    0.05,
    0.03,
    0.08,
    0.05,
    0.03,
    0.04,
    0.04,
    0.03,
    0.02,
    0.03,
)

FIRST_NAMES = (
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Daniel",
    "Lisa",
    "Matthew",
    "Nancy",
    "Anthony",
    "Betty",
    "Mark",
    "Sandra",
    "Steven",
    "Ashley",
    "Paul",
    "Emily",
    "Andrew",
    "Donna",
    "Joshua",
    "Michelle",
    "Kevin",
    "Carol",
    "Brian",
    "Amanda",
    "George",
    "Melissa",
    "Timothy",
    "Deborah",
    "Ronald",
    "Laura",
    "Jason",
    "Rebecca",
    "Ryan",
    "Sharon",
    "Jacob",
    "Cynthia",
    "Gary",
    "Kathleen",
    "Nicholas",
    "Amy",
    "Eric",
    "Angela",
    "Jonathan",
    "Anna",
)
LAST_NAMES = (
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Gomez",
    "Phillips",
    "Evans",
    "Turner",
    "Diaz",
    "Parker",
    "Cruz",
    "Edwards",
    "Collins",
    "Reyes",
)
#: organisation name suffixes per segment (Residential customers are people)
ORG_WORDS = (
    (),
    (
        "Plumbing",
        "Bakery",
        "Dental",
        "Consulting",
        "Auto Repair",
        "Design Studio",
        "Florist",
        "Law Office",
        "Fitness",
        "Cafe",
        "Accounting",
        "Realty",
    ),
    (
        "Industries",
        "Logistics",
        "Holdings",
        "Manufacturing",
        "Health Systems",
        "Group",
        "Technologies",
        "Financial",
        "Energy",
        "Retail Corp",
    ),
    (
        "Public Schools",
        "City Council",
        "Water Authority",
        "Transit Agency",
        "Public Library",
        "Clerk's Office",
        "Fire Department",
        "Parks Department",
    ),
)
EMAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example.com")

#: (service_id, name, type, segment group, list price, launch month offset, discontinued month)
#: segment group: "res" offered to Residential, "biz" to business segments, "all" to both.
#: launch offset < 0: launched that many months before the history; None = never discontinued.
SERVICE_TYPES = ("Internet", "TV", "Mobile", "Voice")
SERVICES = (
    ("S001", "Fiber 100", 0, "all", 40.0, -60, None),
    ("S002", "Fiber 500", 0, "all", 60.0, -36, None),
    ("S003", "Fiber 1 Gig", 0, "all", 80.0, 6, None),
    ("S004", "Business Fiber Pro", 0, "biz", 140.0, -48, None),
    ("S005", "TV Basic", 1, "res", 25.0, -96, 12),
    ("S006", "TV Essentials", 1, "res", 40.0, -40, None),
    ("S007", "TV Premium", 1, "all", 65.0, -40, None),
    ("S008", "Mobile 10GB", 2, "res", 25.0, -30, None),
    ("S009", "Mobile Unlimited", 2, "all", 45.0, -24, None),
    ("S010", "Business Mobile Fleet", 2, "biz", 30.0, -30, None),
    ("S011", "Home Phone", 3, "res", 20.0, -120, None),
    ("S012", "Business Voice Trunk", 3, "biz", 75.0, -72, None),
)
#: daily usage means per service: (data MB, voice minutes, sessions), business-hours pattern
SERVICE_USAGE = (
    (2200.0, 0.0, 10.0, False),
    (3200.0, 0.0, 12.0, False),
    (4200.0, 0.0, 14.0, False),
    (9000.0, 0.0, 40.0, True),
    (900.0, 0.0, 2.0, False),
    (1300.0, 0.0, 2.5, False),
    (1800.0, 0.0, 3.0, False),
    (220.0, 14.0, 6.0, False),
    (420.0, 20.0, 7.0, False),
    (300.0, 25.0, 8.0, True),
    (0.0, 9.0, 2.5, False),
    (0.0, 120.0, 30.0, True),
)
#: monthly data allowance in MB per line for capped mobile plans (others uncapped)
DATA_ALLOWANCE_MB = {"S008": 10_240.0, "S010": 15_360.0}
OVERAGE_PER_GB = 10.0

ORDER_TYPES = ("Device", "Add-on", "New Service")
ORDER_STATUSES = ("Completed", "Cancelled", "Returned")
ORDER_STATUS_SHARES = (0.92, 0.05, 0.03)
#: (product, order type, unit price)
PRODUCTS = (
    ("Smartphone Pro", 0, 899.0),
    ("Smartphone Lite", 0, 349.0),
    ("Wi-Fi 6 Router", 0, 149.0),
    ("Mesh Extender", 0, 89.0),
    ("4K Set-top Box", 0, 119.0),
    ("Desk Phone", 0, 69.0),
    ("Extra Data 10GB", 1, 15.0),
    ("Movie Bundle", 1, 12.0),
    ("International Minutes", 1, 10.0),
    ("Static IP", 1, 8.0),
    ("Cloud Backup", 1, 6.0),
    ("Premium Support", 1, 25.0),
)
NEW_SERVICE_FEE = 49.0

TICKET_PRIORITIES = ("High", "Medium", "Low")
TICKET_STATUSES = ("Open", "In Progress", "Resolved", "Closed")
CHANNELS = ("Phone", "Email", "Chat", "Web", "Store")
CHANNEL_SHARES = (0.40, 0.20, 0.20, 0.15, 0.05)
TICKET_CATEGORIES = ("Billing", "Technical", "Outage", "Service Change", "Account")
BILLING, TECHNICAL, OUTAGE, SERVICE_CHANGE, ACCOUNT = range(5)

CAMPAIGN_TYPES = ("Email", "SMS", "Social", "Direct Mail", "Telemarketing")
CAMPAIGN_TYPE_SHARES = (0.45, 0.20, 0.15, 0.10, 0.10)
OBJECTIVES = ("Acquisition", "Upsell", "Retention", "Win-back")
OBJECTIVE_SHARES = (0.15, 0.35, 0.35, 0.15)
ACQUISITION, UPSELL, RETENTION, WIN_BACK = range(4)
RESPONSE_TYPES = ("Opened", "Clicked", "Converted", "Opted Out")
OPENED, CLICKED, CONVERTED, OPTED_OUT = range(4)

OPPORTUNITY_TYPES = ("New Service", "Upsell", "Renewal")
NEW_SERVICE_OPP, UPSELL_OPP, RENEWAL_OPP = range(3)
STAGES = ("Prospecting", "Qualification", "Proposal", "Negotiation", "Closed Won", "Closed Lost")
STAGE_PROBABILITY = (0.10, 0.25, 0.50, 0.75, 1.0, 0.0)
PAYMENT_STATUSES = ("Paid", "Unpaid", "Overdue")
PAID, UNPAID, OVERDUE = range(3)

KB_AUTHORS = ("Priya Shah", "Tom Becker", "Ana Silva", "Lena Novak", "Omar Haddad", "Chen Wei")
#: 12 article titles per ticket category, in TICKET_CATEGORIES order
KB_TITLES = (
    (
        "Understanding your first bill",
        "Why did my bill change?",
        "Setting up autopay",
        "Payment methods we accept",
        "Disputing a charge",
        "Reading the usage section of your bill",
        "Late payment fees explained",
        "Paperless billing",
        "Prorated charges after a plan change",
        "Outage credits on your bill",
        "Updating your billing address",
        "Price adjustments explained",
    ),
    (
        "Restarting your router",
        "Improving Wi-Fi coverage",
        "Setting up your set-top box",
        "Activating a new SIM",
        "Configuring voicemail",
        "Slow internet troubleshooting",
        "Connecting a mesh extender",
        "Resetting your TV PIN",
        "Mobile data not working",
        "Port forwarding on the router",
        "Updating router firmware",
        "Call quality problems",
    ),
    (
        "Checking for outages in your area",
        "What to do during an outage",
        "Outage notifications by SMS",
        "Planned maintenance windows",
        "Restoring service after an outage",
        "Reporting an outage",
        "Outage compensation policy",
        "Backup internet during outages",
        "Power cuts and your equipment",
        "Why outages happen",
        "Outage status page guide",
        "Business continuity during outages",
    ),
    (
        "Upgrading your internet speed",
        "Adding a TV package",
        "Adding a mobile line",
        "Downgrading a plan",
        "Moving home with your services",
        "Changing your TV package",
        "Removing a service",
        "Switching to unlimited data",
        "Bundling services",
        "Transferring your number to us",
        "Pausing a service",
        "Ending a service early",
    ),
    (
        "How to cancel your contract",
        "Contract renewal options",
        "Updating contact details",
        "Managing marketing preferences",
        "Adding an authorised user",
        "Closing your account",
        "Porting your number to another provider",
        "Account security tips",
        "Recovering your login",
        "Transferring ownership of an account",
        "Contract end dates explained",
        "Business account administration",
    ),
)
