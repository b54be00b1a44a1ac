"""Storage: the ClickHouse client, the tables and their migrations, shared by the services.

The aggregator writes through it and the API reads through it; neither imports the other.
"""
