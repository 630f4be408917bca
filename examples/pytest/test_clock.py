"""`@pytest.mark.carillon(clock_offset=SECONDS)`: one test runs with the service clock moved; the next does not."""

import datetime

import pytest

TEN_DAYS = 10 * 86400


def created_now(carillon):
    chime = carillon.client()
    arn = chime.create_app_instance(Name="clock")["AppInstanceArn"]
    created = chime.describe_app_instance(AppInstanceArn=arn)["AppInstance"]["CreatedTimestamp"]
    return (created - datetime.datetime.now(datetime.timezone.utc)).total_seconds()


@pytest.mark.carillon(clock_offset=TEN_DAYS)
def test_the_marker_moves_the_clock(carillon):
    assert carillon.clock_offset() == TEN_DAYS
    assert abs(created_now(carillon) - TEN_DAYS) < 600


def test_the_clock_is_back_for_the_next_test(carillon):
    assert carillon.clock_offset() == 0
    assert abs(created_now(carillon)) < 600


def test_a_test_may_move_it_itself(carillon):
    carillon.set_clock_offset(-3600)
    assert abs(created_now(carillon) + 3600) < 600
