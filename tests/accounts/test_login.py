import pytest
from django.test import Client

from tests.accounts.conftest import OTP, code, confirmed_device, post_login
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_page_is_korean():
    page = Client().get("/accounts/login/").content.decode()
    assert "로그인" in page and "비밀번호" in page


def test_login_then_console_then_logout(contractor):
    """An account without a second factor: the password is the whole sign-in."""
    c = Client()
    r = c.post("/accounts/login/", {"username": contractor.username, "password": PASSWORD})
    assert r.status_code == 302 and r["Location"] == "/"
    assert c.get("/").status_code == 200
    r = c.post("/accounts/logout/")
    assert r.status_code == 302
    assert c.get("/").status_code == 302


def test_login_with_the_code_step_then_console(agent):
    device = confirmed_device(agent)
    c = Client()
    r = post_login(c, agent)
    assert r.status_code == 302 and r["Location"] == OTP
    r = c.post(OTP, {"token": code(device)})
    assert r.status_code == 302 and r["Location"] == "/"
    assert c.get("/").status_code == 200


def test_next_survives_the_code_step(agent):
    device = confirmed_device(agent)
    c = Client()
    r = c.post(
        "/accounts/login/", {"username": agent.username, "password": PASSWORD, "next": "/registry/cameras/"}
    )
    assert r["Location"] == f"{OTP}?next=%2Fregistry%2Fcameras%2F"
    r = c.post(r["Location"], {"token": code(device), "next": "/registry/cameras/"})
    assert r["Location"] == "/registry/cameras/"
    # an off-site next is ignored
    c2 = Client()
    post_login(c2, agent)
    r = c2.post(OTP, {"token": code(device, drift=1), "next": "https://evil.example/"})
    assert r["Location"] == "/"


def test_wrong_password_says_so_in_korean(agent):
    r = Client().post("/accounts/login/", {"username": agent.username, "password": "wrong-password-1"})
    assert r.status_code == 200
    assert "아이디 또는 비밀번호가 올바르지 않습니다" in r.content.decode()


def test_english_is_available(agent):
    c = Client(headers={"accept-language": "en"})
    page = c.get("/accounts/login/").content.decode()
    assert "Log in" in page


def test_admin_requires_admin_access(agent, it_admin, client_for):
    assert client_for(agent).get("/admin/").status_code == 302  # to the admin login
    assert client_for(it_admin).get("/admin/").status_code == 200
    r = client_for(it_admin).get("/admin/registry/camera/")
    assert r.status_code == 200 and "카메라" in r.content.decode()


def test_admin_never_shows_a_stored_stream_password(it_admin, client_for):
    from gwanje.registry.models import Camera

    cam = Camera.objects.first()
    cam.main_stream_url = "rtsp://admin:top-secret-9@10.9.9.9/ch1"
    cam.save()
    page = client_for(it_admin).get(f"/admin/registry/camera/{cam.pk}/change/").content.decode()
    assert "top-secret-9" not in page
    assert "rtsp://admin:***@10.9.9.9/ch1" in page
