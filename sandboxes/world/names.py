"""The firm's vocabulary: names, places, practices, skills and roles the generator draws from.

Other modules may read these (a sandbox mapping a region to its legal entity, a test checking
that an assignment's person has a skill its role needs); nothing here changes at run time.
"""

from __future__ import annotations

from decimal import Decimal

FIRM_DOMAIN = "northbeam.example"

FIRST_NAMES = (
    "Aisha", "Alejandro", "Amara", "Andrew", "Anna", "Arjun", "Beatriz", "Ben", "Carmen",
    "Chen", "Chloe", "Daniel", "David", "Elena", "Emeka", "Emily", "Farah", "Felix", "Grace",
    "Hannah", "Hiroshi", "Ines", "Isaac", "James", "Jana", "Javier", "Jessica", "Kai", "Karin",
    "Kenji", "Laura", "Leila", "Liam", "Lucas", "Maria", "Mateo", "Mei", "Michael", "Nadia",
    "Naveen", "Nina", "Noah", "Olivia", "Omar", "Oscar", "Priya", "Rafael", "Rachel", "Ravi",
    "Rosa", "Samuel", "Sara", "Sofia", "Stefan", "Tariq", "Thomas", "Valentina", "Wei",
    "Yara", "Zoe",
)  # fmt: skip

LAST_NAMES = (
    "Adeyemi", "Alvarez", "Andersen", "Bauer", "Becker", "Brennan", "Campbell", "Castro",
    "Chen", "Costa", "Dubois", "Evans", "Fernandes", "Fischer", "Garcia", "Gupta", "Hansen",
    "Hughes", "Ibrahim", "Ito", "Jansen", "Johnson", "Kaur", "Kim", "Kowalski", "Larsen",
    "Lopez", "Martin", "Meyer", "Moreau", "Murphy", "Nakamura", "Nguyen", "Novak", "Okafor",
    "Olsen", "Patel", "Peters", "Rahman", "Reyes", "Rossi", "Santos", "Schmidt", "Silva",
    "Singh", "Smith", "Sullivan", "Tanaka", "Taylor", "Thompson", "Torres", "Vasquez",
    "Walsh", "Weber", "Williams", "Wong", "Yamamoto", "Zhang",
)  # fmt: skip

COMPANY_PREFIXES = (
    "Apex", "Atlas", "Beacon", "Blue Ridge", "Cascade", "Cedar", "Crescent", "Evergreen",
    "Falcon", "Granite", "Harbor", "Helix", "Horizon", "Ironwood", "Keystone", "Lakeside",
    "Meridian", "Northwind", "Oakmont", "Orion", "Pacific", "Pinnacle", "Quantum", "Redwood",
    "Sentinel", "Silverline", "Summit", "Tidewater", "Vanguard", "Westbrook",
)  # fmt: skip

# Each core word says what the company does, and so its industry.
COMPANY_CORES = {
    "Analytics": "Technology",
    "Bank": "Banking",
    "Biotech": "Life Sciences",
    "Capital": "Banking",
    "Energy": "Energy & Utilities",
    "Foods": "Consumer Goods",
    "Health": "Healthcare",
    "Insurance": "Insurance",
    "Logistics": "Transportation & Logistics",
    "Manufacturing": "Manufacturing",
    "Media": "Media & Entertainment",
    "Motors": "Manufacturing",
    "Pharma": "Life Sciences",
    "Retail": "Retail",
    "Systems": "Technology",
    "Telecom": "Telecommunications",
    "Utilities": "Energy & Utilities",
}

COMPANY_SUFFIXES = ("", "Group", "Holdings", "Inc.", "Ltd", "Partners", "plc", "AG")

INDUSTRIES = tuple(sorted(set(COMPANY_CORES.values())))

# The order is the order of `World.subsidiary_ids`: the firm has one legal entity per region.
REGIONS = ("North America", "EMEA", "APAC", "LATAM")
REGION_WEIGHTS = (45, 30, 15, 10)

# Clients bill in their region's currency, mostly USD.
REGION_CURRENCIES: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {
    "North America": (("USD",), (1,)),
    "EMEA": (("EUR", "GBP", "USD"), (55, 30, 15)),
    "APAC": (("USD",), (1,)),
    "LATAM": (("USD",), (1,)),
}
CURRENCIES = ("USD", "EUR", "GBP")
# Fixed conversion rates to USD, so invoice amounts from people's rates are reproducible.
USD_PER_UNIT = {"USD": Decimal("1"), "EUR": Decimal("1.08"), "GBP": Decimal("1.27")}

# (city, region, currency of pay and rates)
LOCATIONS = (
    ("New York", "North America", "USD"),
    ("Chicago", "North America", "USD"),
    ("San Francisco", "North America", "USD"),
    ("Toronto", "North America", "USD"),
    ("London", "EMEA", "GBP"),
    ("Frankfurt", "EMEA", "EUR"),
    ("Paris", "EMEA", "EUR"),
    ("Amsterdam", "EMEA", "EUR"),
    ("Singapore", "APAC", "USD"),
    ("Sydney", "APAC", "USD"),
    ("Bangalore", "APAC", "USD"),
    ("Sao Paulo", "LATAM", "USD"),
    ("Mexico City", "LATAM", "USD"),
)
LOCATION_WEIGHTS = (14, 8, 8, 5, 12, 6, 5, 4, 6, 4, 10, 5, 4)

REGION_CODES = {"North America": "NA", "EMEA": "EM", "APAC": "AP", "LATAM": "LA"}

PRACTICES = ("Strategy", "Data & AI", "Cloud", "Cybersecurity", "ERP Advisory")
PRACTICE_CODES = {
    "Strategy": "STR",
    "Data & AI": "DAI",
    "Cloud": "CLD",
    "Cybersecurity": "SEC",
    "ERP Advisory": "ERP",
}

PROJECT_MANAGEMENT = "Project Management"

PRACTICE_SKILLS: dict[str, tuple[str, ...]] = {
    "Strategy": (
        "Market Analysis", "Operating Model Design", "Financial Modelling", "Change Management",
        "Pricing Strategy", "Due Diligence", "Stakeholder Management",
    ),
    "Data & AI": (
        "Python", "SQL", "Machine Learning", "Data Engineering", "Power BI", "Databricks",
        "MLOps", "Generative AI",
    ),
    "Cloud": (
        "AWS", "Azure", "Google Cloud", "Kubernetes", "Terraform", "DevOps",
        "Cloud Architecture", "FinOps",
    ),
    "Cybersecurity": (
        "Identity & Access Management", "Penetration Testing", "SIEM", "Zero Trust",
        "Incident Response", "Risk & Compliance", "Cloud Security",
    ),
    "ERP Advisory": (
        "SAP S/4HANA", "Oracle Fusion", "NetSuite", "Workday Financials", "Finance Process Design",
        "Data Migration", "Solution Architecture",
    ),
}  # fmt: skip

# A role is filled by someone with at least one of its skills.
PRACTICE_ROLES: dict[str, dict[str, tuple[str, ...]]] = {
    "Strategy": {
        "Strategy Consultant": ("Market Analysis", "Operating Model Design", "Pricing Strategy"),
        "Financial Analyst": ("Financial Modelling", "Due Diligence"),
        "Change Lead": ("Change Management", "Stakeholder Management"),
    },
    "Data & AI": {
        "Data Engineer": ("Data Engineering", "Databricks", "SQL"),
        "Data Scientist": ("Machine Learning", "Python", "Generative AI"),
        "BI Developer": ("Power BI", "SQL"),
        "ML Engineer": ("MLOps", "Python"),
    },
    "Cloud": {
        "Cloud Architect": ("Cloud Architecture", "AWS", "Azure", "Google Cloud"),
        "Platform Engineer": ("Kubernetes", "Terraform", "DevOps"),
        "FinOps Analyst": ("FinOps", "AWS", "Azure"),
    },
    "Cybersecurity": {
        "Security Architect": ("Zero Trust", "Cloud Security", "Identity & Access Management"),
        "Penetration Tester": ("Penetration Testing",),
        "SOC Analyst": ("SIEM", "Incident Response"),
        "GRC Consultant": ("Risk & Compliance",),
    },
    "ERP Advisory": {
        "Functional Consultant": ("SAP S/4HANA", "Oracle Fusion", "NetSuite", "Workday Financials"),
        "Finance Process Lead": ("Finance Process Design",),
        "Data Migration Specialist": ("Data Migration",),
        "Solution Architect": ("Solution Architecture", "SAP S/4HANA", "Oracle Fusion"),
    },
}
PROJECT_MANAGER_ROLE = "Project Manager"
ROLE_SKILLS: dict[str, tuple[str, ...]] = {
    PROJECT_MANAGER_ROLE: (PROJECT_MANAGEMENT,),
    **{role: skills for roles in PRACTICE_ROLES.values() for role, skills in roles.items()},
}

OFFERINGS: dict[str, tuple[str, ...]] = {
    "Strategy": (
        "Growth Strategy", "Operating Model Redesign", "Market Entry Assessment",
        "Cost Transformation", "Pricing Review",
    ),
    "Data & AI": (
        "Data Platform Modernisation", "Demand Forecasting Pilot", "Analytics Centre of Excellence",
        "GenAI Assistant Rollout", "Customer 360",
    ),
    "Cloud": (
        "AWS Migration", "Azure Landing Zone", "Cloud Cost Optimisation",
        "Kubernetes Platform Build", "Data Centre Exit",
    ),
    "Cybersecurity": (
        "Zero Trust Roadmap", "SOC Uplift", "Identity & Access Programme",
        "Penetration Testing", "ISO 27001 Readiness",
    ),
    "ERP Advisory": (
        "S/4HANA Readiness", "NetSuite Implementation", "Finance Transformation",
        "ERP Selection", "Workday Financials Rollout",
    ),
}  # fmt: skip

# Grades from the top; (title, share of headcount, cost-rate range per hour in USD).
GRADES = (
    ("Partner", 5, (200, 260)),
    ("Director", 8, (160, 200)),
    ("Senior Manager", 12, (130, 160)),
    ("Manager", 18, (100, 130)),
    ("Senior Consultant", 22, (80, 100)),
    ("Consultant", 20, (60, 80)),
    ("Analyst", 15, (45, 60)),
)
MANAGING_PARTNER = "Managing Partner"
MANAGER_GRADES = frozenset({"Partner", "Director", "Senior Manager", "Manager"})

MILESTONE_NAMES = (
    "Kick-off and mobilisation", "Current-state assessment", "Design sign-off",
    "Build complete", "Pilot go-live", "User acceptance", "Go-live", "Handover and closure",
)  # fmt: skip

TIME_NOTES = (
    "Client workshop", "Stakeholder interviews", "Requirements analysis", "Design review",
    "Development", "Testing", "Status meeting", "Documentation", "Data analysis",
    "Steering committee prep", "Deliverable drafting", "Internal review", "Travel",
    "Training session", "Issue triage",
)  # fmt: skip

# (category, typical amount range in whole currency units)
EXPENSE_CATEGORIES = (
    ("Airfare", (180, 1400)),
    ("Lodging", (120, 650)),
    ("Meals", (15, 120)),
    ("Ground Transport", (20, 160)),
    ("Mileage", (10, 90)),
    ("Software", (20, 400)),
)

PAYMENT_TERMS = (("Net 15", 15), ("Net 30", 30), ("Net 45", 45), ("Net 60", 60))
PAYMENT_TERM_WEIGHTS = (10, 55, 20, 15)
CREDIT_STATUSES = ("GOOD", "WATCH", "HOLD")
CREDIT_STATUS_WEIGHTS = (86, 10, 4)

CONTRACT_TYPES = ("TIME_AND_MATERIALS", "FIXED_FEE", "MILESTONE")
CONTRACT_TYPE_WEIGHTS = (45, 30, 25)

CREDIT_HOLD = "CREDIT_HOLD"  # why a client on credit hold has its invoices blocked
BLOCKED_REASONS = ("MISSING_PO", "DISPUTED", "TAX_ID_MISSING")  # why anyone else's are
