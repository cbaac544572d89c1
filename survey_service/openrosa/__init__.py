"""OpenRosa 1.0 for ODK Collect, Enketo and KoboCollect: XML in and out, and the endpoints."""
