# The Python code from the seeds' guide (../shared/seeds/001_b97a721c7d3bc39a.txt), unchanged except for
# its placeholders: MY_CLIENT_ID, MY_CLIENT_SECRET, MY_AUTHENTICATION_URL and https://my-api-endpoint.
# test/seeds.test.ts fills them in and runs this file against a real Clavis server.
import requests

def get_token_by_client_id_and_client_secret():
    """
    Retrieves an access token using client credentials (client ID and client secret)
    by making a POST request to an authentication URL.

    Returns:
        str: The access token retrieved from the authentication response.

    Example:
        >>> token = get_token_by_client_id_and_client_secret()
        >>> print(token)
        'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...'
    """
    # Set client ID and client secret
    client_id = "MY_CLIENT_ID"
    client_secret = "MY_CLIENT_SECRET"

    # Set authentication URL
    authentication_url = "MY_AUTHENTICATION_URL"

    # Set payload with grant type and client ID
    payload = f'grant_type=client_credentials&client_id={client_id}'

    # Set authentication with client ID and client secret
    auth = (client_id, client_secret)

    # Set headers
    headers = {'Content-Type': 'application/x-www-form-urlencoded'}

    try:
        # Send POST request with authentication URL, headers, payload, and auth
        response = requests.request("POST",
                                    authentication_url,
                                    headers=headers,
                                    data=payload,
                                    auth=auth)
    except Exception as err:
        # Print error message if there is an exception
        print("Error:", err)

    # Get access token from response JSON
    result = response.json()
    access_token = result.get('access_token')

    # Return access token
    return access_token

def get_data_from_endpoint(access_token):

    api_endpoint = "https://my-api-endpoint"
    headers = {
        "Authorization": access_token,
        "x-api-key": "MY_API_KEY",
        "Referer": "MY_REFERER",
        "Origin": "MY_ORIGIN",
        # ...
    }
    response = requests.get(api_endpoint, headers=headers)

    # Handle expired access tokens
    if response.status_code == 401:  # Unauthorized
        # Perform reauthentication
        new_access_token = get_token_by_client_id_and_client_secret()
        # Try to get data with new new authorization
        headers["Authorization"] = new_access_token
        response = requests.get(api_endpoint, headers=headers)

    return response
