"""Sample data with no Django imports, usable from benchmarks before Django is set up."""

# A complete, valid answer set for the graduate instrument (benchmarks, tests, demos).
SAMPLE_GRADUATE_ANSWERS = {
    "country_residence": "DEU",
    "city_residence": "Berlin",
    "respondent_status": "graduated",
    "study_level": "master",
    "field_of_study": "f06_ict",
    "programme": "bolashak",
    "departure_year": 2019,
    "graduation_year": 2021,
    "employment_status": "job_related",
    "jobs": [
        {
            "job_employer": "Siemens",
            "job_country": "DEU",
            "job_region": "Berlin",
            "job_start": "2021-09-01",
            "job_related": "yes",
        },
    ],  # fmt: skip
    "return_intention": "after_work_abroad",
    "likelihood_5y": "4",
    "barrier_salary": "5",
    "barrier_bureaucracy": "4",
    "barrier_corruption": "3",
    "barrier_career": "4",
    "barrier_research": "5",
    "return_factors": ["higher_salary", "research_funding"],
    "engagement_modes": ["mentoring", "joint_research"],
    "consent_contact": "yes",
    "consent_registry": "yes",
    "salary_band": "2000_3500",
}
