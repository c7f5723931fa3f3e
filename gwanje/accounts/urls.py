from django.contrib.auth import views as auth_views
from django.urls import path

from gwanje.accounts import views
from gwanje.accounts.views import own_account

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("otp/", views.otp_verify, name="otp_verify"),
    path("otp/enrol/", views.otp_enrol, name="otp_enrol"),
    path("password/", own_account(views.PasswordChangeView.as_view()), name="password_change"),
    path("password/done/", views.password_change_done, name="password_change_done"),
]
