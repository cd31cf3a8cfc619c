// The JavaScript code from the seeds' guide (../shared/seeds/001_b97a721c7d3bc39a.txt), unchanged except
// for its placeholders. test/seeds.test.ts fills them in and runs it against a real Clavis server.
const axios = require('axios');

async function getTokenByClientIdAndClientSecret() {
  try {
    // Set client ID and client secret
    const clientId = 'MY_CLIENT_ID';
    const clientSecret = 'MY_CLIENT_SECRET';
    
    // Set authentication URL
    const authenticationUrl = 'MY_AUTHENTICATION_URL';
    
    // Set payload with grant type and client ID
    const payload = `grant_type=client_credentials&client_id=${clientId}`;
    
    // Set authentication with client ID and client secret
    const auth = {
      username: clientId,
      password: clientSecret
    };
    
    // Set headers
    const headers = {
      'Content-Type': 'application/x-www-form-urlencoded'
    };
    
    // Send POST request with authentication URL, headers, payload, and auth
    const response = await axios.post(authenticationUrl, payload, {
      headers,
      auth
    });
    
    // Get access token from response JSON
    const result = response.data;
    const accessToken = result.access_token;
    
    // Return access token
    return accessToken;
  } catch (err) {
    // Print error message if there is an exception
    console.error('Error:', err.message);
  }
}

// Example usage
(async () => {
  const token = await getTokenByClientIdAndClientSecret();
  console.log(token);
})();
