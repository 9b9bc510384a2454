from tests.support.releases import releases as releases  # the session-wide publisher folder
