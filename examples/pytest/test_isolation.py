"""Each test starts from the same state: whatever one test creates, the next does not see."""


def app_instance_names(chime):
    return [a["Name"] for a in chime.list_app_instances()["AppInstances"]]


def test_first_test_creates_an_app_instance(carillon):
    chime = carillon.client(account="000000000000")
    chime.create_app_instance(Name="made-by-the-first-test")
    assert app_instance_names(chime) == ["made-by-the-first-test"]


def test_second_test_sees_none_of_the_first_tests_app_instances(carillon):
    chime = carillon.client(account="000000000000")
    assert app_instance_names(chime) == []
    # The reset took the first test's requests out of the journal too: it holds only this test's.
    assert carillon.journal(operation="CreateAppInstance", account="000000000000", limit=5) == []
    assert [e["Operation"] for e in carillon.journal()] == ["ListAppInstances"]


def test_accounts_and_regions_are_apart(carillon):
    carillon.client(account="222222222222", region="eu-central-1").create_app_instance(Name="frankfurt")
    assert app_instance_names(carillon.client(account="222222222222")) == []
    assert app_instance_names(carillon.client(account="333333333333", region="eu-central-1")) == []
    assert app_instance_names(carillon.client(account="222222222222", region="eu-central-1")) == ["frankfurt"]
