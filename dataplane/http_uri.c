int http_uri_placeholder;
