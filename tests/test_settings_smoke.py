def test_it_loads_django(settings):
    assert settings.MASHUP_PROVIDER == "local"
